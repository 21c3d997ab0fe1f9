"""Spreadsheet import and export: round trips, all-or-nothing refusals, history, injection."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from pledges.importing import import_file
from pledges.models import Category, Donor, Event, Pledge, PledgeItem, Source
from pledges.services import store_pledge
from pledges.spreadsheet import COLUMNS, HEADER
from tests.factories import PledgeFactory, PledgeItemFactory, SourceFactory

SOURCE = [
    {"url": "https://example.org/a", "publisher": "Example", "title": "", "published_on": None}
]


@pytest.fixture
def reference_only(db):
    """Categories, donors and events of the fixtures, and no pledge (rates are always there)."""
    call_command("loaddata", "categories", "donors", "events", verbosity=0)


def export(tmp_path, name="export.csv", *options) -> bytes:
    path = tmp_path / name
    file_format = "xlsx" if name.endswith(".xlsx") else "csv"
    call_command("export_pledges", "--format", file_format, "--output", str(path), *options)
    return path.read_bytes()


def wipe_pledges():
    Pledge.objects.update(parent=None, reannounces=None)
    Pledge.objects.all().delete()


def csv_file(rows: list[dict], header: list[str] | None = None) -> bytes:
    header = header or COLUMNS
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def row(ref="ref-1", **values) -> dict:
    base = {
        "external_ref": ref,
        "parent_ref": "",
        "donor": "Germany",
        "category": "air-defence",
        "event": "",
        "event_date": "",
        "announced_on": "2025-06-04",
        "title": f"Pledge {ref}",
        "description": "",
        "status": "announced",
        "amount": "1000000.00",
        "currency": "EUR",
        "amount_basis": "total",
        "period_start_year": "",
        "period_end_year": "",
        "recipient": "UA",
        "items": "",
        "sources": json.dumps(SOURCE),
    }
    base.update(values)
    return base


def errors_of(report) -> set[tuple[int, str]]:
    return {(error.row, error.column) for error in report.errors}


def awkward_pledges():
    """Pledges whose text holds separators, quotes, formula starts and no reference."""
    germany = Donor.objects.get(iso2="DE")
    drones = Category.objects.get(slug="drones")
    package = PledgeFactory(
        donor=germany,
        category=drones,
        external_ref=None,
        title='=HYPERLINK("http://evil")',
        description='-lines\n"quoted", semi; colon: \u00d7',
        amount=Decimal("9000000.00"),
    )
    SourceFactory(pledge=package, url="https://example.org/x?a=1,b=2", title="@SUM(A1)")
    PledgeItemFactory(pledge=package, name='Lynx; "KF41", \u00d72', quantity=5)
    PledgeItemFactory(pledge=package, name="+radar\tunit", quantity=None)
    component = PledgeFactory(
        donor=germany,
        category=drones,
        external_ref="'quoted-ref",
        title="-5 drones",
        parent=package,
        amount=Decimal("1000.50"),
        currency="usd",
        status="committed",
    )
    per_year = PledgeFactory(
        donor=germany,
        category=drones,
        external_ref="de-annual",
        title="Annual",
        amount=Decimal("100.00"),
        amount_basis="per_year",
        period_start_year=2025,
        period_end_year=2027,
        event=Event.objects.get(date=dt.date(2025, 6, 4)),
        recipient="ua",
    )
    for pledge in (package, component, per_year):
        store_pledge(pledge)  # derived values
    return package, component, per_year


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export.csv", "export.xlsx"])
def test_round_trip_into_an_empty_database_gives_the_same_file(reference_data, tmp_path, name):
    awkward_pledges()
    first = export(tmp_path, name)
    assert export(tmp_path, "again-" + name) == first  # deterministic
    count = Pledge.objects.count()
    wipe_pledges()
    assert not Pledge.objects.exists()

    call_command("import_pledges", str(tmp_path / name), verbosity=0)

    assert Pledge.objects.count() == count
    assert export(tmp_path, "second-" + name) == first


def test_csv_export_layout_and_values(reference_only, tmp_path):
    package, _, per_year = awkward_pledges()
    rows = list(csv.DictReader(io.StringIO(export(tmp_path).decode("utf-8"))))
    assert list(rows[0]) == HEADER
    by_ref = {r["external_ref"]: r for r in rows}
    assert set(by_ref) == {f"pledge-{package.pk}", "''quoted-ref", "de-annual"}
    annual = by_ref["de-annual"]
    assert annual["donor"] == "Germany"
    assert annual["category"] == "drones"
    assert (annual["event"], annual["event_date"]) == (per_year.event.name, "2025-06-04")
    assert annual["amount"] == "100.00"
    assert annual["total_amount"] == "300.00"
    assert annual["value_eur"] == "300.00"
    assert annual["recipient"] == "UA"
    comp = by_ref["''quoted-ref"]
    assert comp["parent_ref"] == f"pledge-{package.pk}"
    assert comp["currency"] == "USD"
    pack = by_ref[f"pledge-{package.pk}"]
    assert json.loads(pack["items"]) == [
        {"name": 'Lynx; "KF41", \u00d72', "quantity": 5},
        {"name": "+radar\tunit", "quantity": None},
    ]
    assert [s["title"] for s in json.loads(pack["sources"])] == ["Allies pledge aid", "@SUM(A1)"]


def test_formula_cells_are_neutralised_in_csv_and_xlsx(reference_only, tmp_path):
    package, _, _ = awkward_pledges()
    rows = list(csv.DictReader(io.StringIO(export(tmp_path).decode("utf-8"))))
    pack = next(r for r in rows if r["external_ref"] == f"pledge-{package.pk}")
    assert pack["title"] == '\'=HYPERLINK("http://evil")'
    assert pack["description"].startswith("'-lines")
    comp = next(r for r in rows if r["parent_ref"])
    assert comp["title"] == "'-5 drones"
    assert comp["external_ref"] == "''quoted-ref"  # a leading apostrophe is itself escaped
    cells = [
        cell
        for r in rows
        for name, cell in r.items()
        if name not in ("items", "sources")  # JSON cells start with [
    ]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]

    export(tmp_path, "x.xlsx")
    sheet = load_workbook(tmp_path / "x.xlsx").worksheets[0]
    values = [cell.value for line in sheet.iter_rows() for cell in line if cell.value]
    assert '\'=HYPERLINK("http://evil")' in values
    assert not [v for v in values if str(v)[:1] in ("=", "+", "-", "@")]
    assert all(cell.data_type == "s" for line in sheet.iter_rows() for cell in line if cell.value)


def test_import_restores_neutralised_cells_exactly(reference_only, tmp_path):
    package, _, _ = awkward_pledges()
    export(tmp_path)
    wipe_pledges()
    call_command("import_pledges", str(tmp_path / "export.csv"), verbosity=0)
    comp = Pledge.objects.get(external_ref="'quoted-ref")
    assert comp.title == "-5 drones"
    pack = comp.parent
    assert pack.external_ref == f"pledge-{package.pk}"
    assert pack.title == '=HYPERLINK("http://evil")'
    assert pack.description == '-lines\n"quoted", semi; colon: \u00d7'
    assert [(i.name, i.quantity) for i in pack.items.all()] == [
        ('Lynx; "KF41", \u00d72', 5),
        ("+radar\tunit", None),
    ]


def test_reimport_of_an_export_into_the_same_database_updates_nothing(reference_data, tmp_path):
    awkward_pledges()
    export(tmp_path)
    pledges = Pledge.objects.count()
    versions = dict(Pledge.objects.values_list("pk", "version"))
    history = (Pledge.history.count(), PledgeItem.history.count(), Source.history.count())
    report = import_file((tmp_path / "export.csv").read_bytes(), "csv")
    assert not report.errors
    # Pledges without a reference are found by their generated one, which is then stored.
    without_ref = [r for r in report.rows if r.action == "update"]
    assert [r.ref for r in without_ref] == [
        f"pledge-{p.pk}" for p in Pledge.objects.filter(external_ref__startswith="pledge-")
    ]
    assert report.count("skip") == pledges - len(without_ref)
    assert Pledge.objects.count() == pledges
    history_after_first = (
        Pledge.history.count(),
        PledgeItem.history.count(),
        Source.history.count(),
    )
    assert history_after_first == (history[0] + len(without_ref), history[1], history[2])

    again = import_file((tmp_path / "export.csv").read_bytes(), "csv")
    assert again.count("skip") == pledges
    assert Pledge.objects.count() == pledges
    assert (
        Pledge.history.count(),
        PledgeItem.history.count(),
        Source.history.count(),
    ) == history_after_first
    unchanged = dict(Pledge.objects.values_list("pk", "version"))
    changed_ids = {Pledge.objects.get(external_ref=r.ref).pk for r in without_ref}
    assert {pk: v for pk, v in unchanged.items() if pk not in changed_ids} == {
        pk: v for pk, v in versions.items() if pk not in changed_ids
    }


# --- writes ---------------------------------------------------------------------------------


def test_import_creates_pledges_with_history_and_derived_values(reference_only):
    data = csv_file(
        [
            row("pkg", amount="1000.00", currency="gbp", donor="gb"),
            row(
                "part",
                parent_ref="pkg",
                amount="100.00",
                currency="GBP",
                donor="United Kingdom",
                items=json.dumps([{"name": "drone", "quantity": 100}]),
                category="drones",
            ),
        ]
    )
    report = import_file(data, "csv")
    assert not report.errors, report.errors
    package = Pledge.objects.get(external_ref="pkg")
    part = Pledge.objects.get(external_ref="part")
    assert part.parent == package
    assert package.donor.iso2 == "GB"
    assert package.currency == "GBP"
    # GBP on 2025-06-04 in the ECB file: 0.8421 per euro; 1000 / 0.8421 = 1187.5074…
    assert package.value_eur == Decimal("1187.51")
    assert [(i.name, i.quantity) for i in part.items.all()] == [("drone", 100)]
    assert package.history.count() == 1
    assert package.history.get().history_type == "+"
    assert package.history.get().history_change_reason == "Imported from a spreadsheet"
    assert PledgeItem.history.count() == 1
    assert Source.history.count() == 2


def test_component_before_its_package_in_the_file(reference_only):
    data = csv_file([row("part", parent_ref="pkg", amount="10.00"), row("pkg")])
    report = import_file(data, "csv")
    assert not report.errors
    assert Pledge.objects.get(external_ref="part").parent.external_ref == "pkg"


def test_component_may_point_to_a_stored_package(reference_only):
    import_file(csv_file([row("pkg")]), "csv")
    report = import_file(csv_file([row("part", parent_ref="pkg", amount="5.00")]), "csv")
    assert not report.errors
    assert Pledge.objects.get(external_ref="part").parent.external_ref == "pkg"


def test_update_writes_one_history_row_and_bumps_the_version(reference_only):
    import_file(csv_file([row("a"), row("b")]), "csv")
    a = Pledge.objects.get(external_ref="a")
    report = import_file(csv_file([row("a", title="Changed", status="committed"), row("b")]), "csv")
    assert (report.count("update"), report.count("skip")) == (1, 1)
    a.refresh_from_db()
    assert (a.title, a.status, a.version) == ("Changed", "committed", 2)
    assert a.history.count() == 2
    assert a.history.first().history_type == "~"
    assert Pledge.objects.get(external_ref="b").history.count() == 1


def test_update_replaces_items_and_sources(reference_only):
    import_file(csv_file([row("a", items=json.dumps([{"name": "tank", "quantity": 2}]))]), "csv")
    new_sources = [{"url": "https://example.org/b", "publisher": "B"}]
    report = import_file(csv_file([row("a", items="", sources=json.dumps(new_sources))]), "csv")
    assert not report.errors
    pledge = Pledge.objects.get(external_ref="a")
    assert not pledge.items.exists()
    assert [s.url for s in pledge.sources.all()] == ["https://example.org/b"]
    assert PledgeItem.history.filter(history_type="-").count() == 1
    assert Source.history.filter(history_type="-").count() == 1


def test_dry_run_writes_nothing(reference_only, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(csv_file([row("a"), row("b", parent_ref="a", amount="5.00")]))
    out = io.StringIO()
    call_command("import_pledges", str(path), "--dry-run", stdout=out, verbosity=0)
    assert "2 new" in out.getvalue()
    assert not Pledge.objects.exists()
    assert not Pledge.history.exists()
    assert not Source.objects.exists()


# --- refusals -------------------------------------------------------------------------------


def test_latin1_file_is_refused(reference_only, tmp_path):
    data = csv_file([row("a", title="Défense")]).decode("utf-8").encode("latin-1")
    report = import_file(data, "csv")
    assert errors_of(report) == {(0, "file")}
    assert "not UTF-8" in report.errors[0].message
    assert "line 2" in report.errors[0].message
    assert not Pledge.objects.exists()


def test_command_refuses_a_bad_file_and_reports_every_problem(reference_only, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        csv_file([row("a", amount="abc"), row("b"), row("c", donor="Atlantis", currency="XXY")])
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 problems"):
        call_command("import_pledges", str(path), stderr=err, verbosity=0)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("row 2, amount:")
    assert any(line.startswith("row 4, donor: Unknown donor 'Atlantis'") for line in lines)
    assert any(line.startswith("row 4, currency:") for line in lines)
    assert not Pledge.objects.exists()


def test_missing_and_unknown_columns_are_all_reported(reference_only):
    header = [c for c in COLUMNS if c not in ("amount", "sources")] + ["colour", "value_eur"]
    values = {k: v for k, v in row("a").items() if k in header} | {"colour": "red"}
    report = import_file(csv_file([values], header=header), "csv")
    messages = [str(e) for e in report.errors]
    assert messages == [
        "row 1, header: Missing columns: amount, sources.",
        "row 1, header: Unknown columns: colour.",
    ]
    assert not Pledge.objects.exists()


def test_bad_row_at_the_end_of_a_long_file_writes_nothing(reference_only):
    rows = [row(f"r{n}") for n in range(600)] + [row("last", amount="-5")]
    report = import_file(csv_file(rows), "csv")
    assert errors_of(report) == {(602, "amount")}
    assert not Pledge.objects.exists()
    assert not Pledge.history.exists()
    assert not Source.objects.exists()


def test_duplicate_references_in_one_file(reference_only):
    report = import_file(csv_file([row("a"), row("b"), row("a", title="Other")]), "csv")
    assert [str(e) for e in report.errors] == [
        "row 4, external_ref: The reference 'a' is also in row 2."
    ]
    assert not Pledge.objects.exists()


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"external_ref": ""}, "external_ref"),
        ({"donor": "Atlantis"}, "donor"),
        ({"donor": ""}, "donor"),
        ({"category": "lasers"}, "category"),
        ({"event": "Nowhere summit", "event_date": "2025-06-04"}, "event"),
        ({"event": "UDCG meeting, NATO headquarters", "event_date": ""}, "event"),
        ({"event": "UDCG meeting, NATO headquarters", "event_date": "4 June"}, "event_date"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "1" * 16}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"currency": "XXY"}, "currency"),
        ({"currency": ""}, "currency"),
        ({"announced_on": "2999-01-01"}, "announced_on"),
        ({"announced_on": "04/06/2025"}, "announced_on"),
        ({"announced_on": ""}, "announced_on"),
        ({"status": "promised"}, "status"),
        ({"amount_basis": "per_year"}, "period_start_year"),
        ({"amount_basis": "weekly"}, "amount_basis"),
        (
            {"amount_basis": "per_year", "period_start_year": "2027", "period_end_year": "2025"},
            "period_end_year",
        ),
        ({"period_start_year": "soon"}, "period_start_year"),
        ({"recipient": "XX"}, "recipient"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"items": "drone x 5"}, "items"),
        ({"items": json.dumps({"name": "drone"})}, "items"),
        ({"items": json.dumps([{"name": "drone", "colour": "red"}])}, "items"),
        ({"items": json.dumps([{"name": "drone", "quantity": 0}])}, "items[1].quantity"),
        ({"items": json.dumps([{"name": "drone", "quantity": "many"}])}, "items[1].quantity"),
        ({"items": json.dumps([{"quantity": 3}])}, "items[1].name"),
        ({"sources": ""}, "sources"),
        ({"sources": json.dumps([{"url": "ftp://x.org/a", "publisher": "X"}])}, "sources[1].url"),
        ({"sources": json.dumps([{"url": "https://x.org/a"}])}, "sources[1].publisher"),
        (
            {"sources": json.dumps([{**SOURCE[0], "published_on": "2999-01-01"}])},
            "sources[1].published_on",
        ),
        (
            {"sources": json.dumps([{**SOURCE[0], "published_on": "June"}])},
            "sources[1].published_on",
        ),
        ({"parent_ref": "nowhere"}, "parent_ref"),
        ({"parent_ref": "a"}, "parent_ref"),
    ],
)
def test_each_bad_value_is_refused_with_its_column(reference_only, values, column):
    report = import_file(csv_file([row("ok"), row("a", **values)]), "csv")
    assert column in {error.column for error in report.errors if error.row == 3}, report.errors
    assert {error.row for error in report.errors} == {3}
    assert not Pledge.objects.exists()


def test_every_problem_of_a_row_is_reported(reference_only):
    report = import_file(
        csv_file([row("a", donor="Atlantis", amount="abc", currency="XXY", title="")]), "csv"
    )
    assert errors_of(report) == {(2, "donor"), (2, "amount"), (2, "currency"), (2, "title")}


def test_package_rules_are_the_models(reference_only):
    report = import_file(
        csv_file(
            [
                row("pkg", amount="100.00"),
                row("c1", parent_ref="pkg", amount="60.00"),
                row("c2", parent_ref="pkg", amount="50.00"),
                row("nested", parent_ref="c1", amount="1.00"),
                row("other-donor", parent_ref="pkg", donor="France", amount="1.00"),
            ]
        ),
        "csv",
    )
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert "more than their package" in messages[(4, "amount")]
    assert "cannot be the package" in messages[(5, "parent_ref")]
    assert "same donor" in messages[(6, "parent_ref")]
    assert (3, "amount") not in messages
    assert not Pledge.objects.exists()


def test_child_of_a_bad_package_row_is_reported(reference_only):
    report = import_file(
        csv_file([row("pkg", amount="abc"), row("c1", parent_ref="pkg", amount="1.00")]), "csv"
    )
    assert errors_of(report) == {(2, "amount"), (3, "parent_ref")}


def test_xlsx_cells_typed_by_a_spreadsheet_are_read(reference_only, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    values = row("a", amount=1500000.5, announced_on=dt.datetime(2025, 6, 4))  # noqa: DTZ001
    values["period_start_year"] = None
    sheet.append([values.get(name, "") for name in COLUMNS])
    path = tmp_path / "typed.xlsx"
    workbook.save(path)
    report = import_file(path.read_bytes(), "xlsx")
    assert not report.errors, report.errors
    pledge = Pledge.objects.get()
    assert (pledge.amount, pledge.announced_on) == (Decimal("1500000.50"), dt.date(2025, 6, 4))


def test_excel_csv_with_bom_and_semicolons_is_read(reference_only):
    text = csv_file([row("a", title="Défense; aérienne")]).decode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    for line in csv.reader(io.StringIO(text)):
        writer.writerow(line)
    report = import_file(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"), "csv")
    assert not report.errors, report.errors
    assert Pledge.objects.get().title == "Défense; aérienne"


def test_not_an_xlsx_file(reference_only):
    report = import_file(b"external_ref,title\n", "xlsx")
    assert errors_of(report) == {(0, "file")}


def test_empty_and_header_only_files(reference_only):
    assert errors_of(import_file(b"", "csv")) == {(1, "header")}
    assert errors_of(import_file(",".join(COLUMNS).encode(), "csv")) == {(2, "row")}


# --- export command -------------------------------------------------------------------------


def test_export_filters(reference_data):
    out = io.StringIO()
    call_command(
        "export_pledges", "--filter", "currency=gbp", "--filter", "status=announced", stdout=out
    )
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    expected = Pledge.objects.filter(currency="GBP", status="announced")
    assert sorted(r["external_ref"] for r in rows) == sorted(p.external_ref for p in expected)
    assert [r["external_ref"] for r in rows] == sorted(r["external_ref"] for r in rows)
    assert rows


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ("status=promised", "status"),
        ("donor=999999", "donor"),
        ("date_from=yesterday", "date_from"),
        ("colour=red", "Unknown filter colour"),
        ("currency", "NAME=VALUE"),
    ],
)
def test_export_refuses_bad_filters(reference_data, term, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_pledges", "--filter", term, stdout=io.StringIO())


def test_xlsx_export_needs_an_output_file(reference_data):
    with pytest.raises(CommandError, match="--output"):
        call_command("export_pledges", "--format", "xlsx", stdout=io.StringIO())


def test_a_pledge_changed_during_the_import_is_not_overwritten(reference_only, monkeypatch):
    from pledges.importing.plan import StoredPledges

    import_file(csv_file([row("a")]), "csv")
    load = StoredPledges.load

    def load_then_someone_edits(refs):
        stored = load(refs)
        Pledge.objects.filter(external_ref="a").update(title="Edited meanwhile", version=7)
        return stored

    monkeypatch.setattr(StoredPledges, "load", load_then_someone_edits)
    report = import_file(csv_file([row("a", title="From the file")]), "csv")
    assert [str(e) for e in report.errors] == [
        "row 2, row: The pledge was changed while the file was imported: retry."
    ]
    monkeypatch.undo()
    assert Pledge.objects.get(external_ref="a").title == "Pledge a"  # all rolled back
