"""The reference data: it loads cleanly and holds the pledges of the seed article."""

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pycountry
import pytest
from django.core.management import call_command

from pledges.choices import DonorKind
from pledges.models import Category, Donor, Event, Pledge
from pledges.services import validate_pledge
from tests.ecb import ecb_rate

pytestmark = pytest.mark.django_db

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "seeds" / "udcg-news-june-2025.txt"
MEETING = dt.date(2025, 6, 4)


def eur(amount, currency):
    if currency == "EUR":
        return Decimal(amount)
    return (Decimal(amount) / ecb_rate(currency, MEETING)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_every_fixture_object_passes_full_validation(reference_data):
    for model in (Category, Donor, Event):
        for obj in model.objects.all():
            obj.full_clean()
    for pledge in Pledge.objects.all():
        validate_pledge(pledge=pledge, fields={})  # the model's and the package rules
    for pledge in Pledge.objects.all():
        assert pledge.sources.exists(), pledge


def test_the_categories_cover_the_seed_articles(reference_data):
    slugs = set(Category.objects.values_list("slug", flat=True))
    assert {
        "air-defence",
        "artillery-ammunition",
        "armoured-vehicles",
        "aircraft",
        "drones",
        "maritime",
        "electronic-warfare",
        "training",
        "financial-support",
        "defence-industry",
        "other",
    } <= slugs


def test_donors_are_udcg_countries_with_iso_codes_and_organisations(reference_data):
    countries = Donor.objects.filter(kind=DonorKind.COUNTRY)
    assert countries.count() >= 50
    for donor in countries:
        assert pycountry.countries.get(alpha_2=donor.iso2) is not None, donor
    nato_members = {"GB", "DE", "NL", "NO", "CA", "BE", "SE", "US", "FR", "PL", "TR", "FI"}
    assert nato_members <= set(countries.values_list("iso2", flat=True))
    names = set(Donor.objects.exclude(kind=DonorKind.COUNTRY).values_list("name", flat=True))
    assert "European Union" in names
    assert any("NSATU" in name for name in names)


def test_the_june_2025_meeting_is_an_event(reference_data):
    assert Event.objects.filter(date=MEETING, kind="udcg_meeting").exists()


def test_the_seed_pledges_with_their_values(reference_data):
    by_ref = {p.external_ref: p for p in Pledge.objects.select_related("donor", "parent")}
    expected = {
        "udcg-2025-06-gb-package": ("GB", "4500000000.00", "GBP", None),
        "udcg-2025-06-gb-drones": ("GB", "350000000.00", "GBP", "udcg-2025-06-gb-package"),
        "udcg-2025-06-gb-interflex": ("GB", "247000000.00", "GBP", "udcg-2025-06-gb-package"),
        "udcg-2025-06-de-package": ("DE", "5000000000.00", "EUR", None),
        "udcg-2025-06-nl-maritime": ("NL", "400000000.00", "EUR", None),
        "udcg-2025-06-no-drones": ("NO", "700000000.00", "USD", None),
        "udcg-2025-06-no-nsatu": ("NO", "50000000.00", "USD", None),
        "udcg-2025-06-ca-drones-ew": ("CA", "45000000.00", "CAD", None),
        "udcg-2025-06-se-programmes": ("SE", "440000000.00", "EUR", None),
    }
    for ref, (iso2, amount, currency, parent) in expected.items():
        pledge = by_ref[ref]
        assert pledge.donor.iso2 == iso2
        assert (pledge.amount, pledge.currency) == (Decimal(amount), currency)
        assert pledge.total_amount == Decimal(amount)
        assert pledge.value_eur == eur(amount, currency)
        assert pledge.rate_date == MEETING
        assert (pledge.parent.external_ref if pledge.parent else None) == parent
        assert pledge.event.date == MEETING
        assert pledge.sources.get().publisher == "Euromaidan Press"


def test_belgium_pledges_a_billion_a_year_through_2029(reference_data):
    pledge = Pledge.objects.get(external_ref="udcg-2025-06-be-annual")
    assert (pledge.amount_basis, pledge.period_start_year, pledge.period_end_year) == (
        "per_year",
        2025,
        2029,
    )
    assert pledge.total_amount == pledge.value_eur == Decimal("5000000000.00")


def test_pledges_without_a_stated_value(reference_data):
    shells = Pledge.objects.get(external_ref="udcg-2025-06-gb-shells")
    assert (shells.amount, shells.status) == (None, "delivered")
    assert shells.items.get().quantity == 140000
    vehicles = Pledge.objects.get(external_ref="udcg-2025-06-ca-vehicles")
    assert vehicles.amount is None
    assert {i.name for i in vehicles.items.all()} == {
        "Coyote armoured vehicle",
        "Bison armoured vehicle",
    }


def test_every_money_figure_of_the_seed_article_is_recorded(reference_data):
    """Each £/€/$ figure stated in the pledges article is some pledge's amount."""
    text = SEED.read_text()
    article = text[text.index("100,000 drones and a record") : text.index("Sweden allocated")]
    article += text[text.index("Sweden allocated") :].split("\n")[0]
    figures = set()
    for number, unit in re.findall(r"[£€$]([\d.,]+) (billion|million)", article):
        figures.add(Decimal(number.replace(",", "")) * (10**9 if unit == "billion" else 10**6))
    recorded = set(Pledge.objects.exclude(amount=None).values_list("amount", flat=True))
    assert figures, "the article's figures were not found"
    assert figures <= recorded


def test_the_fixtures_load_twice_without_duplicates(reference_data):
    counts = [m.objects.count() for m in (Category, Donor, Event, Pledge)]
    call_command("load_reference_data", verbosity=0)
    assert [m.objects.count() for m in (Category, Donor, Event, Pledge)] == counts
