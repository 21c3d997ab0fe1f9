"""The importer's three steps, each on its own: parse (no database), plan (reads, writes
nothing), write (writes what it is given)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from pledges.choices import DonorKind
from pledges.importing.parse import References, parse_row, table_rows
from pledges.importing.plan import Planner, StoredPledges, index_rows, rounds
from pledges.importing.write import CHANGE_REASON, Writer
from pledges.models import Category, Donor, Event, ExchangeRate, Pledge
from pledges.spreadsheet import COLUMNS
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory

SOURCE = [{"url": "https://example.org/a", "publisher": "Example"}]


def table(*rows: dict) -> list[list[str]]:
    base = dict.fromkeys(COLUMNS, "")
    base.update(donor="Germany", category="air-defence", announced_on="2025-06-04")
    base.update(title="T", status="announced", amount_basis="total", recipient="UA")
    base["sources"] = json.dumps(SOURCE)
    return [list(COLUMNS), *[[{**base, **row}[name] for name in COLUMNS] for row in rows]]


def references() -> References:
    """Built by hand: parsing needs no database."""
    return References(
        [Donor(pk=1, name="Germany", kind=DonorKind.COUNTRY, iso2="DE")],
        {"air-defence": Category(pk=2, slug="air-defence", name="Air defence")},
        {("Ramstein", dt.date(2025, 6, 4)): Event(pk=3, name="Ramstein", date=dt.date(2025, 6, 4))},
    )


# --- parse ------------------------------------------------------------------------------


def test_parse_reads_cells_without_the_database():
    rows, errors = table_rows(
        table({"external_ref": "a", "donor": "de", "amount": "12.50", "currency": "usd"})
    )
    assert errors == []
    parse_row(rows[0], references())  # no django_db mark: a query would fail the test
    fields = rows[0].fields
    assert (fields["donor"].name, fields["category"].slug, fields["event"]) == (
        "Germany",
        "air-defence",
        None,
    )
    assert fields["amount"] == Decimal("12.50")
    assert fields["announced_on"] == dt.date(2025, 6, 4)
    assert rows[0].sources == [  # keys left out take their empty value, kind its default
        {
            "url": "https://example.org/a",
            "publisher": "Example",
            "title": "",
            "published_on": None,
            "kind": "other",
            "archived_url": "",
            "accessed_on": None,
        }
    ]
    assert rows[0].errors == {}


def test_parse_names_every_bad_cell():
    rows, _ = table_rows(
        table(
            {
                "external_ref": "",
                "donor": "Atlantis",
                "category": "",
                "event": "Ramstein",
                "amount": "lots",
                "items": "[1]",
            }
        )
    )
    parse_row(rows[0], references())
    assert set(rows[0].errors) == {"external_ref", "donor", "category", "event", "amount", "items"}
    assert rows[0].errors["donor"] == ["Unknown donor 'Atlantis': give a donor's name or ISO code."]
    assert rows[0].errors["event"] == ["An event is given by its name and its event_date together."]


def test_the_header_is_checked_before_any_row():
    rows, errors = table_rows([["external_ref", "nonsense"], ["a", "b"]])
    assert rows[0].ref == "a"
    assert [(error.row, error.column) for error in errors] == [(1, "header"), (1, "header")]
    assert errors[1].message == "Unknown columns: nonsense."


# --- plan -------------------------------------------------------------------------------


def parsed(*rows: dict):
    rows, errors = table_rows(table(*rows))
    assert errors == []
    loaded = References.load()
    for row in rows:
        parse_row(row, loaded)
    return rows


@pytest.fixture
def germany(db):
    DonorFactory(name="Germany", kind=DonorKind.COUNTRY, iso2="DE")
    CategoryFactory(slug="air-defence", name="Air defence")


def planner(rows) -> Planner:
    stored = StoredPledges.load({row.ref for row in rows} | {row.parent_ref for row in rows})
    return Planner(stored, index_rows(rows), ExchangeRate.objects.table(), lambda done: None)


def test_rounds_put_the_nth_component_of_every_package_in_round_n(germany):
    rows = parsed(
        {"external_ref": "p"},
        {"external_ref": "c1", "parent_ref": "p"},
        {"external_ref": "q"},
        {"external_ref": "c2", "parent_ref": "p"},
        {"external_ref": "d1", "parent_ref": "q"},
    )
    assert [[row.ref for row in batch] for batch in rounds(rows)] == [
        ["p", "q"],
        ["c1", "d1"],
        ["c2"],
    ]


def test_plan_tells_new_changed_and_unchanged_rows_and_writes_nothing(germany):
    stored = parsed({"external_ref": "same"}, {"external_ref": "old"})
    Writer(None, timezone.now(), ExchangeRate.objects).create(
        planner(stored).plan_round(stored).new
    )
    rows = parsed(
        {"external_ref": "new"}, {"external_ref": "same"}, {"external_ref": "old", "title": "B"}
    )
    before = list(Pledge.objects.values_list("pk", "version", "title"))
    plan = planner(rows).plan_round(rows)
    assert [row.outcome.action for row in rows] == ["new", "skip", "update"]
    assert [write.pledge.external_ref for write in plan.new] == ["new"]
    assert [(row.ref, children) for row, _, children in plan.changed] == [("old", False)]
    assert plan.changed[0][1].pledge.pk == Pledge.objects.get(external_ref="old").pk
    assert list(Pledge.objects.values_list("pk", "version", "title")) == before


def test_plan_refuses_a_component_of_an_unknown_package(germany):
    rows = parsed({"external_ref": "c", "parent_ref": "nowhere"})
    plan = planner(rows).plan_round(rows)
    assert plan.new == [] and plan.changed == []
    assert rows[0].errors == {"parent_ref": ["Unknown package reference 'nowhere'."]}


# --- write ------------------------------------------------------------------------------


def test_write_creates_with_derived_values_and_one_history_row(germany):
    rows = parsed({"external_ref": "a", "amount": "100.00", "currency": "EUR"})
    plan = planner(rows).plan_round(rows)
    now = timezone.now()
    Writer(None, now, ExchangeRate.objects.table()).create(plan.new)
    pledge = Pledge.objects.get(external_ref="a")
    assert (pledge.total_amount, pledge.value_eur, pledge.rate_date) == (
        Decimal("100.00"),
        Decimal("100.00"),
        dt.date(2025, 6, 4),
    )
    assert pledge.version == 1
    record = pledge.history.get()
    assert (record.history_type, record.history_change_reason, record.history_date) == (
        "+",
        CHANGE_REASON,
        now,
    )
    assert pledge.sources.count() == 1


def test_write_refuses_an_update_of_a_pledge_changed_since_it_was_read(germany):
    PledgeFactory(
        donor=Donor.objects.get(), category=Category.objects.get(), external_ref="a", title="A"
    )
    rows = parsed({"external_ref": "a", "title": "From the file"})
    plan = planner(rows).plan_round(rows)
    Pledge.objects.filter(external_ref="a").update(title="Meanwhile", version=7)
    Writer(None, timezone.now(), ExchangeRate.objects.table()).update(plan.changed)
    assert rows[0].errors == {"row": ["The pledge was changed while the file was imported: retry."]}
    assert Pledge.objects.get(external_ref="a").title == "Meanwhile"


def test_write_updates_with_the_next_version(germany):
    PledgeFactory(
        donor=Donor.objects.get(), category=Category.objects.get(), external_ref="a", title="A"
    )
    rows = parsed({"external_ref": "a", "title": "B"})
    plan = planner(rows).plan_round(rows)
    Writer(None, timezone.now(), ExchangeRate.objects.table()).update(plan.changed)
    pledge = Pledge.objects.get(external_ref="a")
    assert (pledge.title, pledge.version, pledge.history.count()) == ("B", 2, 2)
