import datetime as dt
import urllib.error
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from pledges.models import ExchangeRate, Pledge
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


def test_load_reference_data_if_empty_keeps_local_edits(reference_data):
    pledge = Pledge.objects.get(external_ref="udcg-2025-06-de-package")
    Pledge.objects.filter(pk=pledge.pk).update(title="Edited locally")
    out = StringIO()
    call_command("load_reference_data", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()
    pledge.refresh_from_db()
    assert pledge.title == "Edited locally"
