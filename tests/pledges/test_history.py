from decimal import Decimal

import pytest

from pledges.models import Pledge, PledgeItem, Source
from pledges.services import write_pledge
from tests.factories import CategoryFactory, CountryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pledge():
    return write_pledge(
        fields={
            "donor": CountryFactory(name="Germany"),
            "category": CategoryFactory(),
            "announced_on": "2025-06-04",
            "title": "€5 billion package",
            "amount": Decimal("5000000000.00"),
            "currency": "EUR",
        },
        items=[{"name": "IRIS-T", "quantity": 2}],
        sources=[{"url": "https://example.org/de", "publisher": "Example"}],
    )


def test_creation_writes_one_history_row_for_the_pledge_its_items_and_sources(pledge):
    assert [h.history_type for h in pledge.history.all()] == ["+"]
    assert PledgeItem.history.filter(pledge_id=pledge.pk, history_type="+").count() == 1
    assert Source.history.filter(pledge_id=pledge.pk, history_type="+").count() == 1


def test_a_change_writes_a_row_with_the_old_and_new_values(pledge):
    write_pledge(pledge=pledge, fields={"amount": Decimal("4000000000.00"), "status": "committed"})
    newest, previous = pledge.history.all()[:2]
    assert newest.history_type == "~"
    changes = {c.field: (c.old, c.new) for c in newest.diff_against(previous).changes}
    assert changes["amount"] == (Decimal("5000000000.00"), Decimal("4000000000.00"))
    assert changes["status"] == ("announced", "committed")


def test_replacing_items_and_sources_is_in_their_history(pledge):
    write_pledge(
        pledge=pledge,
        fields={},
        items=[{"name": "Taurus", "quantity": None}],
        sources=[{"url": "https://example.org/de2", "publisher": "Other"}],
    )
    assert list(
        PledgeItem.history.filter(pledge_id=pledge.pk).values_list("name", "history_type")
    ) == [("Taurus", "+"), ("IRIS-T", "-"), ("IRIS-T", "+")]
    assert Source.history.filter(pledge_id=pledge.pk, history_type="-").count() == 1


def test_deletion_is_in_the_history_and_the_history_outlives_the_pledge(pledge):
    pledge_id = pledge.pk
    pledge.delete()
    assert not Pledge.objects.filter(pk=pledge_id).exists()
    rows = Pledge.history.filter(id=pledge_id)
    assert [h.history_type for h in rows] == ["-", "+"]
    assert rows.first().title == "€5 billion package"
    assert PledgeItem.history.filter(pledge_id=pledge_id, history_type="-").count() == 1
    assert Source.history.filter(pledge_id=pledge_id, history_type="-").count() == 1
