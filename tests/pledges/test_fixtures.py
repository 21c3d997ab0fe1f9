"""The reference data: it loads cleanly and holds the pledges of the seed article."""

import datetime as dt
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pycountry
import pytest
from django.core.management import call_command

from pledges.choices import DonorKind
from pledges.models import Category, Donor, Event, Pledge, Source
from pledges.reports import parse_options, totals
from pledges.services import validate_pledge
from tests.conftest import load_reference_data, shared_by_module
from tests.ecb import ecb_rate

pytestmark = pytest.mark.django_db
# The reference data, loaded once for the module's tests (each runs in a savepoint of its own).
reference_data = shared_by_module(load_reference_data)

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
        "udcg-2025-06-ca-drones-ew": ("CA", "45000000.00", "USD", None),
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
        source = pledge.sources.get()
        assert (source.publisher, source.url, source.kind) == ("Euromaidan Press", "", "media")
        assert source.published_on == dt.date(2025, 6, 5)


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


def test_statuses_follow_the_words_of_the_article(reference_data):
    """The mapping of docs/contributing-data.md#statuses, word by word."""
    status = dict(Pledge.objects.values_list("external_ref", "status"))
    assert status == {
        "udcg-2025-06-gb-package": "announced",  # "London announced a new aid package"
        "udcg-2025-06-gb-drones": "announced",  # part of what London announced
        "udcg-2025-06-gb-interflex": "announced",  # "will go toward"
        "udcg-2025-06-gb-shells": "delivered",  # "have already been delivered"
        "udcg-2025-06-gb-lmm": "announced",  # "will jointly manufacture"
        "udcg-2025-06-de-package": "committed",  # "confirmed"
        "de-2025-05-28-package": "committed",  # "approved" (UNN, citing the ministry)
        "udcg-2025-06-nl-maritime": "announced",  # "will go toward"
        "udcg-2025-06-no-drones": "committed",  # "allocating"
        "udcg-2025-06-no-nsatu": "committed",  # "contributing"
        "udcg-2025-06-ca-drones-ew": "announced",  # "will provide"
        "udcg-2025-06-ca-vehicles": "announced",  # "will send"
        "udcg-2025-06-be-annual": "committed",  # "committing to"
        "udcg-2025-06-be-mcm": "announced",  # "announced ... the delivery of"
        "udcg-2025-06-se-programmes": "committed",  # "allocated"
    }


def test_no_company_project_is_a_government_pledge(reference_data):
    text = " ".join(Pledge.objects.values_list("title", flat=True))
    for company in ("Rheinmetall", "Lynx", "Nammo", "SAAB", "Kongsberg", "KNDS", "Raytheon"):
        assert company not in text


def test_doubts_are_recorded_as_confidence_and_in_the_description(reference_data):
    canada = Pledge.objects.get(external_ref="udcg-2025-06-ca-drones-ew")
    assert canada.confidence == "estimated"
    assert "which dollar" in canada.description
    for ref in ("udcg-2025-06-no-drones", "udcg-2025-06-no-nsatu"):
        norway = Pledge.objects.get(external_ref=ref)
        assert norway.currency == "USD"
        assert "read as US dollars" in norway.description
    belgium = Pledge.objects.get(external_ref="udcg-2025-06-be-annual")
    assert belgium.confidence == "estimated"
    assert "no first year" in belgium.description
    # Every fixture source is a media report: nothing can be confirmed.
    assert not Pledge.objects.filter(confidence="confirmed").exists()
    assert set(Source.objects.values_list("kind", flat=True)) == {"media"}


def test_germany_confirms_an_earlier_pledge_which_counts_once(reference_data):
    confirmation = Pledge.objects.get(external_ref="udcg-2025-06-de-package")
    original = confirmation.reannounces
    assert original.external_ref == "de-2025-05-28-package"
    assert (original.amount, original.currency) == (Decimal(5_000_000_000), "EUR")
    assert original.announced_on == dt.date(2025, 5, 28)
    assert "does not date it" in original.description
    assert original.donor == confirmation.donor
    outside = original.sources.exclude(url="")
    assert {source.publisher for source in outside} == {"Politico Europe", "UNN"}

    germany = totals(Pledge.objects.filter(donor=confirmation.donor), parse_options())
    assert (germany.total, germany.pledges, germany.reannounced) == (Decimal("5000000000.00"), 2, 1)


def test_the_eur_total_counts_each_figure_once(reference_data):
    """Hand-computed from the seed: the UK package (its components inside it), Germany once,
    Belgium's five years, the rest as stated; each converted at the ECB rate of its day."""
    expected = sum(
        (
            eur("4500000000", "GBP"),
            Decimal("5000000000"),  # Germany: the original pledge; the confirmation adds nothing
            Decimal("400000000"),
            eur("700000000", "USD"),
            eur("50000000", "USD"),
            eur("45000000", "USD"),
            Decimal("5000000000"),  # Belgium, €1 billion a year 2025-2029
            Decimal("440000000"),
        ),
        Decimal(0),
    )
    report = totals(Pledge.objects.all(), parse_options())
    assert report.total == expected
    assert (report.pledges, report.reannounced, report.unvalued) == (15, 1, 4)


# --- what the seed says, nothing more --------------------------------------------------------

SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}  # the signs the seed article writes


def stated(amount: Decimal) -> str:
    """An amount as the article writes it: 4500000000 -> '4.5 billion'."""
    for unit, size in (("billion", 10**9), ("million", 10**6)):
        if amount >= size:
            return f"{(amount / size).normalize():f} {unit}"
    return f"{amount:,.0f}"


def test_every_amount_and_currency_sign_is_in_the_seed_text(reference_data):
    text = SEED.read_text()
    for pledge in Pledge.objects.exclude(amount=None):
        assert pledge.currency in SYMBOLS, f"{pledge}: the seed writes no sign for it"
        phrase = SYMBOLS[pledge.currency] + stated(pledge.amount)
        assert phrase in text, f"{pledge}: {phrase!r} is not in the seed"


def test_no_source_address_that_the_seed_does_not_give(reference_data):
    """The seed has no addresses: a source with one was found elsewhere, and says so."""
    text = SEED.read_text()
    for source in Source.objects.all():
        for address in (source.url, source.archived_url):
            if address and address not in text:
                assert source.accessed_on is not None, source
                assert "found outside the seed articles" in source.title, source
        if not source.url:
            assert source.publisher and source.title and source.published_on, source
            assert source.title in text  # the seed article's own title


def test_the_fixtures_load_twice_without_duplicates(reference_data):
    counts = [m.objects.count() for m in (Category, Donor, Event, Pledge)]
    call_command("load_reference_data", verbosity=0)
    assert [m.objects.count() for m in (Category, Donor, Event, Pledge)] == counts


def test_the_report_command_keys_and_filters_on_confidence(reference_data):
    """The estimates of the fixtures: Canada's $45 million and Belgium's five years."""
    out = io.StringIO()
    call_command(
        "pledge_report",
        "--group-by",
        "confidence",
        "--confidence",
        "estimated",
        "--reannouncement",
        "false",
        "--format",
        "csv",
        stdout=out,
    )
    expected = eur("45000000", "USD") + Decimal("5000000000")
    assert out.getvalue().splitlines() == [
        "confidence,total,pledges,unvalued,unconverted,reannounced,allocated,delivered,outstanding",
        f"estimated,{expected},2,0,0,0,0.00,0.00,{expected}",
    ]
