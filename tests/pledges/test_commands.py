import datetime as dt
import urllib.error
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from pledges.counted import refresh_counted_values
from pledges.fulfilments import validate_fulfilment
from pledges.models import (
    COUNTED_FIELDS,
    LIFECYCLE_FIELDS,
    ExchangeRate,
    Fulfilment,
    Pledge,
    PledgeItem,
    Source,
)
from pledges.services import validate_pledge
from tests.ecb import ecb_rate, ecb_rates
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 6, 4)


@pytest.mark.slow  # writes the 220,000 rates of the whole file
def test_load_ecb_rates_loads_the_bundled_history_and_recomputes_values():
    pledge = PledgeFactory(amount=Decimal("1000.00"), currency="USD", announced_on=DAY)
    ExchangeRate.objects.filter(currency="USD", date=DAY).update(rate=Decimal("2"))
    Pledge.objects.filter(pk=pledge.pk).update(value_eur=Decimal("500.00"))
    out = StringIO()
    call_command("load_ecb_rates", stdout=out)
    assert ExchangeRate.objects.get(currency="USD", date=DAY).rate == ecb_rate("USD", DAY)
    assert ExchangeRate.objects.count() == sum(len(days) for days in ecb_rates().values())
    pledge.refresh_from_db()
    assert pledge.value_eur == (Decimal(1000) / ecb_rate("USD", DAY)).quantize(Decimal("0.01"))
    assert "1 pledge values recomputed" in out.getvalue()


def test_load_ecb_rates_online_fails_clearly_without_a_network():
    before = ExchangeRate.objects.count()
    with (
        mock.patch("urllib.request.urlopen", side_effect=urllib.error.URLError("no network")),
        pytest.raises(CommandError, match="Could not download the ECB rates"),
    ):
        call_command("load_ecb_rates", "--online")
    assert ExchangeRate.objects.count() == before


def test_recompute_after_a_rate_change_writes_no_history():
    pledge = PledgeFactory(amount=Decimal("1000.00"), currency="GBP", announced_on=DAY)
    ExchangeRate.objects.filter(currency="GBP", date=DAY).update(rate=Decimal("0.5"))
    call_command("recompute_pledge_values", stdout=StringIO())
    pledge.refresh_from_db()
    assert pledge.value_eur == Decimal("2000.00")
    assert pledge.version == 2  # its representation changed: a new ETag
    assert pledge.history.count() == 1


def test_generate_pledges_makes_valid_pledges():
    call_command("generate_pledges", "300", "--seed", "7", verbosity=0, stdout=StringIO())
    generated = Pledge.objects.all()
    assert generated.count() >= 300
    for pledge in generated.filter(parent__isnull=False)[:20]:
        validate_pledge(pledge=pledge, fields={})  # the model's and the package rules
    for pledge in generated[:50]:
        validate_pledge(pledge=pledge, fields={})
        assert pledge.sources.exists()


def test_generate_pledges_leaves_the_planner_statistics_of_what_it_wrote():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics; SQLite's planner runs without them")
    call_command("generate_pledges", "300", "--seed", "7", verbosity=0, stdout=StringIO())
    for model in (Pledge, PledgeItem, Source, Fulfilment):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
            )
            # ANALYZE reads every row of a table this small: the exact count.
            assert cursor.fetchone()[0] == model.objects.count() > 0, model


def test_load_reference_data_if_empty_keeps_local_edits(reference_data):
    pledge = Pledge.objects.get(external_ref="udcg-2025-06-de-package")
    Pledge.objects.filter(pk=pledge.pk).update(title="Edited locally")
    out = StringIO()
    call_command("load_reference_data", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()
    pledge.refresh_from_db()
    assert pledge.title == "Edited locally"


def _generated() -> tuple[list, list]:
    """The generated pledges and records, without their ids."""
    pledges = list(
        Pledge.objects.order_by("pk").values_list(
            "title", "status", "amount", *LIFECYCLE_FIELDS, *COUNTED_FIELDS
        )
    )
    records = list(
        Fulfilment.objects.order_by("pk").values_list(
            "pledge__title", "kind", "date", "amount", "cumulative_amount", "eur_cents"
        )
    )
    return pledges, records


def test_generate_pledges_makes_records_as_the_write_path_would():
    call_command("generate_pledges", "600", "--seed", "5", verbosity=0, stdout=StringIO())
    generated = _generated()
    # What the command computed before writing is what the lifecycle computes from the rows.
    refresh_counted_values(Pledge.objects.values_list("pk", flat=True))
    assert _generated() == generated

    valued = Pledge.objects.filter(amount__isnull=False).exclude(status="cancelled").count()
    recorded = Pledge.objects.filter(fulfilments__isnull=False).distinct()
    assert 0.2 * valued < recorded.count() < 0.4 * valued
    assert not recorded.filter(status="cancelled").exists()
    assert recorded.filter(delivery="full", status="delivered").exists()
    assert recorded.filter(delivery="partial", status="committed").exists()
    assert Pledge.objects.filter(undated=True, fulfilments__isnull=True).exists()
    today = timezone.localdate()
    for record in Fulfilment.objects.select_related("pledge"):
        assert record.pledge.announced_on <= record.date <= today
        assert record.sources.exists()
    for record in Fulfilment.objects.order_by("pk")[:60]:
        sources = [{"url": s.url, "publisher": s.publisher} for s in record.sources.all()]
        validate_fulfilment(fulfilment=record, fields={}, sources=sources)  # the write rules
    for pledge in recorded:
        for kind in ("allocated", "delivered"):
            amounts = pledge.fulfilments.filter(kind=kind).values_list("amount", flat=True)
            assert sum(amounts, Decimal(0)) <= pledge.total_amount

    # The same seed, the same pledges and records.
    Pledge.objects.filter(parent__isnull=False).delete()
    Pledge.objects.all().delete()
    call_command("generate_pledges", "600", "--seed", "5", verbosity=0, stdout=StringIO())
    assert _generated() == generated
