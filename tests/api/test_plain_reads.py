"""``PlainReads`` answers what DRF's own reading answers, for values read from the database and
for values of another type set in memory, and refuses a field it cannot plan."""

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from api.serializers import PlainReads, PledgeSerializer, StoredDecimalField
from pledges.choices import PledgeStatus
from pledges.models import Donor, Pledge
from tests.factories import CountryFactory, PledgeFactory, PledgeItemFactory, SourceFactory

pytestmark = pytest.mark.django_db


def drf_answer(serializer: serializers.Serializer, instance) -> dict:
    """DRF's own reading of ``instance``, without ``PlainReads``."""
    return serializers.ModelSerializer.to_representation(serializer, instance)


def rendered(data) -> bytes:
    """As a client receives it: 1 and True, or 2024 and 2024.0, differ here."""
    return JSONRenderer().render(data)


def assert_read_as_drf_reads(pledge: Pledge) -> dict:
    """``pledge``, and each item, source and brief it is shown with, answered byte for byte
    as DRF's own reading answers it."""
    serializer = PledgeSerializer()
    ours = PledgeSerializer(pledge).data
    assert rendered(ours) == rendered(drf_answer(serializer, pledge))
    fields = serializer.fields
    nested = [
        (fields["items"].child, pledge.items.all()),
        (fields["sources"].child, pledge.sources.all()),
        *((fields[name].brief, [getattr(pledge, name)]) for name in ("donor", "category")),
    ]
    for child, instances in nested:
        for instance in instances:
            assert rendered(child.to_representation(instance)) == rendered(
                drf_answer(child, instance)
            )
    return ours


def test_values_read_from_the_database_are_answered_as_drf_answers_them():
    pledge = PledgeFactory(amount=Decimal("1234.50"), currency="USD", period_start_year=2024)
    PledgeItemFactory(pledge=pledge, quantity=3)
    SourceFactory(pledge=pledge)
    ours = assert_read_as_drf_reads(Pledge.objects.with_related().get(pk=pledge.pk))
    assert (ours["period_start_year"], ours["undated"]) == (2024, False)
    assert ours["status"] == "announced"
    assert ours["items"][0]["quantity"] == 3


def test_values_of_another_type_are_converted_as_drf_converts_them():
    pledge = Pledge.objects.with_related().get(pk=PledgeFactory().pk)
    pledge.version = "7"  # a text where a whole number is kept
    pledge.period_start_year = 2024.0
    pledge.undated = 1  # a number where a yes/no is kept
    pledge.status = PledgeStatus.COMMITTED  # a member of the choices, not a plain text
    pledge.title = 42
    ours = assert_read_as_drf_reads(pledge)
    assert b'"version":7,' in rendered(ours)
    assert b'"period_start_year":2024,' in rendered(ours)
    assert b'"undated":true,' in rendered(ours)
    assert type(ours["status"]) is str and ours["status"] == "committed"
    assert ours["title"] == "42"


class DonorIdAsText(PlainReads, serializers.ModelSerializer):
    id = serializers.BigIntegerField(coerce_to_string=True, read_only=True)

    class Meta:
        model = Donor
        fields = ["id", "name"]


def test_a_big_integer_asked_to_be_text_is_answered_as_text():
    donor = CountryFactory(name="Norway")
    assert DonorIdAsText(donor).data == {"id": str(donor.pk), "name": "Norway"}


class DonorWithLink(PlainReads, serializers.ModelSerializer):
    pledges = serializers.HyperlinkedRelatedField(
        many=False, read_only=True, view_name="pledge-detail", source="pk"
    )

    class Meta:
        model = Donor
        fields = ["id", "pledges"]


def test_a_field_that_needs_the_request_is_refused():
    serializer = DonorWithLink(CountryFactory())
    with pytest.raises(TypeError, match=r"DonorWithLink\.pledges needs the request"):
        serializer.to_representation(serializer.instance)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1234.50"),
        Decimal("0.00"),
        Decimal("99999999999999.99"),
        Decimal("1E+3"),  # no places: quantized by DRF
        Decimal("1.005"),  # more places: rounded by DRF
        Decimal("-12.30"),
        Decimal("1234567890123456.00"),  # more digits than the field holds: refused by DRF
        Decimal("NaN"),
        1234.5,
        7,
        "12.5",
    ],
    ids=repr,
)
@pytest.mark.parametrize("options", [{}, {"coerce_to_string": False}, {"localize": True}])
def test_a_stored_decimal_is_answered_as_drf_answers_it(value, options):
    ours = StoredDecimalField(max_digits=16, decimal_places=2, **options)
    theirs = serializers.DecimalField(max_digits=16, decimal_places=2, **options)

    def answer(field):
        try:
            return repr(field.to_representation(value))
        except Exception as error:  # the same failure, for a value DRF refuses
            return type(error).__name__

    assert answer(ours) == answer(theirs)


def test_pledge_amounts_are_stored_decimal_fields():
    fields = PledgeSerializer().fields
    assert all(
        type(fields[name]) is StoredDecimalField
        for name in ("amount", "total_amount", "value_eur", "delivered_amount")
    )
