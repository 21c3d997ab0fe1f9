"""Fulfilment records in spreadsheets: beside the pledges (a second CSV file, an XLSX sheet, the
API's export, the admin), all or nothing with them, round trips exact."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from pledges.fulfilments import write_fulfilment
from pledges.importing import import_file
from pledges.models import Category, Donor, Fulfilment, FulfilmentItem, Pledge, PledgeItem
from pledges.spreadsheet import FULFILMENT_HEADER
from tests.factories import PledgeFactory, PledgeItemFactory, add_record
from tests.pledges.test_import_export import csv_file, row

pytestmark = pytest.mark.django_db
RECORD_SOURCE = json.dumps([{"url": "https://example.org/d", "publisher": "Example"}])


@pytest.fixture
def reference_only(db):
    call_command("loaddata", "categories", "donors", "events", verbosity=0)


def wipe():
    Fulfilment.objects.all().delete()
    Pledge.objects.update(parent=None, reannounces=None)
    Pledge.objects.all().delete()


def scenario():
    """Pledges with records of every shape: a package and its delivered component, an unvalued
    pledge delivered by quantities, a pledge in hryvnias without a reference, text that a
    spreadsheet would run, two records of one day and kind."""
    same = {"donor": Donor.objects.get(iso2="DE"), "category": Category.objects.get(slug="drones")}
    package = PledgeFactory(**same, external_ref="de-pack", amount=Decimal("1000000.00"))
    part = PledgeFactory(**same, external_ref="de-part", parent=package, amount=Decimal(300000))
    shells = PledgeFactory(**same, external_ref="de-shells", amount=None, currency="")
    shell = PledgeItemFactory(pledge=shells, name='=shell; "155 mm"', quantity=1000)
    hryvnias = PledgeFactory(**same, external_ref=None, amount=Decimal(5000000), currency="UAH")
    add_record(part, amount=Decimal("300000.00"))
    add_record(package, amount=Decimal("100000.00"), note='=HYPERLINK("x")\nsecond line')
    add_record(package, amount=Decimal("50000.50"))  # the same day and kind: by id
    add_record(package, kind="allocated", amount=Decimal("200000.00"), date=dt.date(2025, 6, 30))
    add_record(shells, items=[(shell, 400)])
    add_record(shells, items=[(shell, 600)], date=dt.date(2025, 8, 1))
    cited = {
        "publisher": "Ministry of Defence",
        "title": "Briefing",
        "published_on": dt.date(2025, 9, 2),
        "kind": "official",
    }
    write_fulfilment(
        fields={
            "pledge": hryvnias,
            "kind": "delivered",
            "date": dt.date(2025, 9, 1),
            "amount": Decimal("1000000.00"),
        },
        items=[],
        sources=[cited],
    )
    return package, part, shells, hryvnias


def exported(tmp_path, name: str) -> dict[str, bytes]:
    """The export of every pledge: CSV with its records' file, and XLSX."""
    folder = tmp_path / name
    folder.mkdir()
    call_command(
        "export_pledges",
        "--output",
        str(folder / "pledges.csv"),
        "--fulfilments",
        str(folder / "fulfilments.csv"),
        verbosity=0,
    )
    call_command(
        "export_pledges", "--format", "xlsx", "--output", str(folder / "p.xlsx"), verbosity=0
    )
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def records_of(files) -> list[dict]:
    return list(csv.DictReader(io.StringIO(files["fulfilments.csv"].decode())))


def test_the_records_file(reference_only, tmp_path):
    *_, hryvnias = scenario()
    rows = records_of(exported(tmp_path, "first"))
    assert list(rows[0]) == FULFILMENT_HEADER
    assert [(r["pledge_ref"], r["kind"], r["date"], r["amount"]) for r in rows] == [
        ("de-pack", "allocated", "2025-06-30", "200000.00"),
        ("de-pack", "delivered", "2025-07-01", "100000.00"),
        ("de-pack", "delivered", "2025-07-01", "50000.50"),
        ("de-part", "delivered", "2025-07-01", "300000.00"),
        ("de-shells", "delivered", "2025-07-01", ""),
        ("de-shells", "delivered", "2025-08-01", ""),
        (f"pledge-{hryvnias.pk}", "delivered", "2025-09-01", "1000000.00"),
    ]
    shells = rows[4]
    assert json.loads(shells["items"]) == [{"item": '=shell; "155 mm"', "quantity": 400}]
    assert shells["currency"] == ""
    assert rows[1]["note"] == '\'=HYPERLINK("x")\nsecond line'  # neutralised
    assert (rows[1]["currency"], rows[6]["currency"]) == ("EUR", "UAH")
    assert json.loads(rows[6]["sources"])[0]["url"] == ""


def test_a_round_trip_is_exact(reference_only, tmp_path):
    scenario()
    first = exported(tmp_path, "first")
    wipe()
    report = import_file(first["pledges.csv"], "csv", fulfilments=first["fulfilments.csv"])
    assert not report.errors, report.errors
    assert report.records == {"new": 7, "kept": 0, "removed": 0}
    assert exported(tmp_path, "second") == first
    wipe()
    report = import_file(first["p.xlsx"], "xlsx")
    assert not report.errors, report.errors
    assert exported(tmp_path, "third") == first
    # What the records made of their pledges, computed again from the file.
    part = Pledge.objects.get(external_ref="de-part")
    shells = Pledge.objects.get(external_ref="de-shells")
    assert (part.status, part.delivery, shells.status, shells.delivery) == (
        "delivered",
        "full",
        "delivered",
        "full",
    )
    assert shells.items.get().quantity_delivered == 1000


def test_importing_the_same_files_again_writes_nothing(reference_only, tmp_path):
    scenario()
    files = exported(tmp_path, "first")
    # The first time, the pledge without a reference stores the one it was written with.
    import_file(files["pledges.csv"], "csv", fulfilments=files["fulfilments.csv"])
    before = (
        list(Pledge.objects.values_list("pk", "version")),
        Fulfilment.history.count(),
        FulfilmentItem.history.count(),
        PledgeItem.history.count(),
    )
    report = import_file(files["pledges.csv"], "csv", fulfilments=files["fulfilments.csv"])
    assert not report.errors
    assert report.records == {"new": 0, "kept": 7, "removed": 0}
    assert report.count("skip") == Pledge.objects.count()
    assert (
        list(Pledge.objects.values_list("pk", "version")),
        Fulfilment.history.count(),
        FulfilmentItem.history.count(),
        PledgeItem.history.count(),
    ) == before


def test_a_changed_record_replaces_the_stored_one(reference_only, tmp_path):
    package, *_ = scenario()
    files = exported(tmp_path, "first")
    text = files["fulfilments.csv"].decode().replace("50000.50", "60000.00")
    report = import_file(files["pledges.csv"], "csv", fulfilments=text.encode())
    assert not report.errors, report.errors
    assert report.records == {"new": 1, "kept": 6, "removed": 1}
    package.refresh_from_db()
    assert package.delivered_amount == Decimal("160000.00")
    # A file with the records' header alone: the file's pledges have none left.
    header = ",".join(FULFILMENT_HEADER) + "\r\n"
    report = import_file(files["pledges.csv"], "csv", fulfilments=header.encode())
    assert report.records == {"new": 0, "kept": 0, "removed": 7}
    assert not Fulfilment.objects.exists()


def test_without_records_the_stored_ones_stay(reference_only, tmp_path):
    scenario()
    files = exported(tmp_path, "first")
    report = import_file(files["pledges.csv"], "csv")
    assert not report.errors
    assert report.records is None
    assert Fulfilment.objects.count() == 7


def record_row(ref="a", **values) -> dict:
    base = {
        "pledge_ref": ref,
        "kind": "delivered",
        "date": "2025-07-01",
        "amount": "100.00",
        "items": "",
        "note": "",
        "sources": RECORD_SOURCE,
    }
    base.update(values)
    return base


def records_csv(rows: list[dict]) -> bytes:
    return csv_file(rows, header=list(record_row()))


BAD_RECORDS = [
    (record_row(amount="1000000.01"), "amount"),
    (record_row(amount="0"), "amount"),
    (record_row(date="2025-06-03"), "date"),
    (record_row(date="2999-01-01"), "date"),
    (record_row(kind="promised"), "kind"),
    (record_row(ref="nowhere"), "pledge_ref"),
    (record_row(ref=""), "pledge_ref"),
    (record_row(sources=""), "sources"),
    (record_row(sources="[{]"), "sources"),
    (record_row(items='[{"item": "tank", "quantity": 1}]'), "items[1].item"),
    (record_row(items='[{"item": "drone", "quantity": 0}]'), "items[1].quantity"),
    (record_row(items='[{"item": "drone", "quantity": 101}]'), "items[1].quantity"),
    (record_row(amount="", items=""), "amount"),
]


@pytest.mark.parametrize(("bad", "column"), BAD_RECORDS)
def test_a_bad_record_row_refuses_the_whole_file(reference_only, bad, column):
    pledges = csv_file([row("a", items=json.dumps([{"name": "drone", "quantity": 100}])), row("b")])
    records = records_csv([record_row(amount="10.00"), bad, record_row("b")])
    report = import_file(pledges, "csv", fulfilments=records)
    assert ("fulfilments", 3, column) in {(e.sheet, e.row, e.column) for e in report.errors}, [
        str(e) for e in report.errors
    ]
    assert str(next(e for e in report.errors if e.column == column)).startswith(
        f"fulfilments row 3, {column}: "
    )
    assert not Pledge.objects.exists()
    assert not Fulfilment.objects.exists()


def test_records_add_up_across_rows(reference_only):
    pledges = csv_file([row("a")])
    records = records_csv([record_row(amount="600000.00"), record_row(amount="400000.01")])
    report = import_file(pledges, "csv", fulfilments=records)
    assert [(e.row, e.column) for e in report.errors] == [(3, "amount")]
    assert not Pledge.objects.exists()


def test_a_bad_records_header_is_told(reference_only):
    report = import_file(csv_file([row("a")]), "csv", fulfilments=b"pledge_ref,colour\r\n")
    assert {(e.sheet, e.row, e.column) for e in report.errors} == {("fulfilments", 1, "header")}
    assert "Missing columns: kind" in str(report.errors[0])
    assert not Pledge.objects.exists()


def test_import_keeps_items_in_place_by_name(reference_only):
    items = json.dumps([{"name": "drone", "quantity": 100}])
    records = records_csv([record_row(items='[{"item": "drone", "quantity": 60}]')])
    assert not import_file(csv_file([row("a", items=items)]), "csv", fulfilments=records).errors
    drone = PledgeItem.objects.get()
    more = json.dumps([{"name": "radar", "quantity": None}, {"name": "drone", "quantity": 80}])
    report = import_file(csv_file([row("a", items=more)]), "csv")
    assert not report.errors, report.errors
    kept = PledgeItem.objects.get(name="drone")
    assert (kept.pk, kept.quantity, kept.quantity_delivered) == (drone.pk, 80, 60)
    assert [h.history_type for h in kept.history.order_by("history_id")] == ["+", "~"]
    # Below what the records hold, or left out while they refer to it: refused.
    for cell, column in (
        (json.dumps([{"name": "drone", "quantity": 59}]), "items[1].quantity"),
        (json.dumps([{"name": "radar"}]), "items"),
    ):
        report = import_file(csv_file([row("a", items=cell)]), "csv")
        assert [e.column for e in report.errors] == [column], [str(e) for e in report.errors]
    assert PledgeItem.objects.get(name="drone").quantity == 80


def test_a_pledge_row_cannot_drop_below_its_records(reference_only):
    records = records_csv([record_row(amount="600000.00")])
    assert not import_file(csv_file([row("a")]), "csv", fulfilments=records).errors
    report = import_file(csv_file([row("a", amount="500000.00")]), "csv")
    assert [e.column for e in report.errors] == ["amount"]
    assert Pledge.objects.get().amount == Decimal("1000000.00")


def test_xlsx_with_and_without_a_records_sheet(reference_only, tmp_path):
    scenario()
    files = exported(tmp_path, "first")
    workbook = load_workbook(io.BytesIO(files["p.xlsx"]), read_only=True)
    assert workbook.sheetnames == ["pledges", "fulfilments"]
    options = ["--format", "xlsx", "--output", str(tmp_path / "x.xlsx")]
    with pytest.raises(CommandError):
        call_command("export_pledges", *options, "--fulfilments", str(tmp_path / "r.csv"))
    report = import_file(files["p.xlsx"], "xlsx", fulfilments=b"")
    assert [e.column for e in report.errors] == ["file"]


def test_the_import_command_takes_the_records_file(reference_only, tmp_path):
    pledges, records = tmp_path / "p.csv", tmp_path / "r.csv"
    pledges.write_bytes(csv_file([row("a")]))
    records.write_bytes(records_csv([record_row(amount="10.00")]))
    out = io.StringIO()
    call_command("import_pledges", str(pledges), "--fulfilments", str(records), stdout=out)
    assert "Records: 1 new, 0 unchanged, 0 removed." in out.getvalue()
    assert Pledge.objects.get().delivered_amount == Decimal("10.00")
    records.write_bytes(records_csv([record_row(amount="2000000.00")]))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_pledges", str(pledges), "--fulfilments", str(records), stderr=err)
    assert "fulfilments row 2, amount:" in err.getvalue()
    assert Fulfilment.objects.get().amount == Decimal("10.00")


def test_records_come_with_their_sources(reference_only):
    cited = [{"publisher": "Gazette", "title": "Deliveries", "published_on": "2025-07-02"}]
    records = records_csv([record_row(sources=json.dumps(cited))])
    assert not import_file(csv_file([row("a")]), "csv", fulfilments=records).errors
    source = Fulfilment.objects.get().sources.get()
    assert (source.publisher, source.url, source.published_on) == (
        "Gazette",
        "",
        dt.date(2025, 7, 2),
    )
    assert Fulfilment.history.get().history_change_reason == "Imported from a spreadsheet"


# --- the admin's XLSX, the API's export, data releases --------------------------------------


def test_the_admin_exports_and_imports_records_in_xlsx(reference_only, tmp_path):
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    scenario()
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-12345!")
    client = Client()
    client.force_login(user)
    from pledges.spreadsheet import HEADER

    chosen = {f"pledgeresource_{name}": "on" for name in HEADER}
    response = client.post(
        "/admin/pledges/pledge/export/", {"format": "1", "resource": "0", **chosen}
    )
    assert response.status_code == 200
    workbook = exported(tmp_path, "command")["p.xlsx"]
    assert response.content == workbook  # the same file as the command's
    wipe()

    def upload(data: bytes):
        upload = SimpleUploadedFile("p.xlsx", data, content_type="application/octet-stream")
        return client.post(
            "/admin/pledges/pledge/import/",
            {"resource": "0", "format": "1", "import_file": upload},
        )

    preview = upload(workbook)
    assert not preview.context["result"].has_errors(), preview.context["result"].base_errors
    assert not Fulfilment.objects.exists()  # a preview is a dry run
    confirm = preview.context["confirm_form"]
    assert (
        client.post("/admin/pledges/pledge/process_import/", dict(confirm.initial)).status_code
        == 302
    )
    assert Fulfilment.objects.count() == 7
    assert Fulfilment.history.first().history_user == user


def test_the_admin_shows_a_bad_record_row(reference_only, tmp_path):
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from pledges.spreadsheet import FULFILMENTS_SHEET, write_xlsx

    pledges = list(csv.reader(io.StringIO(csv_file([row("a")]).decode())))
    records = list(csv.reader(io.StringIO(records_csv([record_row(amount="-5")]).decode())))
    stream = io.BytesIO()
    write_xlsx(pledges, stream, more={FULFILMENTS_SHEET: records})
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-12345!")
    client = Client()
    client.force_login(user)
    upload = SimpleUploadedFile("p.xlsx", stream.getvalue())
    response = client.post(
        "/admin/pledges/pledge/import/", {"resource": "0", "format": "1", "import_file": upload}
    )
    assert "fulfilments row 2, amount:" in response.content.decode()
    assert "confirm_form" not in response.context
    assert not Pledge.objects.exists()


def test_a_release_carries_the_records(reference_only, tmp_path):
    from frictionless import validate

    scenario()
    call_command("export_release", str(tmp_path / "r1"), verbosity=0)
    descriptor = json.loads((tmp_path / "r1" / "datapackage.json").read_text())
    names = [resource["name"] for resource in descriptor["resources"]]
    assert names == ["donors", "categories", "events", "pledges", "fulfilments", "changes"]
    report = validate(str(tmp_path / "r1" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    first = {
        name: (tmp_path / "r1" / name).read_bytes() for name in ("pledges.csv", "fulfilments.csv")
    }
    assert first["fulfilments.csv"] == exported(tmp_path, "command")["fulfilments.csv"]

    wipe()
    call_command("import_release", str(tmp_path / "r1"), verbosity=0)
    call_command(
        "export_release", str(tmp_path / "r2"), "--since", str(tmp_path / "r1"), verbosity=0
    )
    again = {name: (tmp_path / "r2" / name).read_bytes() for name in first}
    assert again == first


def test_the_changes_of_a_release_name_changed_records(reference_only, tmp_path):
    package, *_ = scenario()
    call_command("export_release", str(tmp_path / "r1"), verbosity=0)
    add_record(package, amount=Decimal("1.00"), date=dt.date(2025, 10, 1))
    call_command(
        "export_release", str(tmp_path / "r2"), "--since", str(tmp_path / "r1"), verbosity=0
    )
    changes = list(csv.DictReader((tmp_path / "r2" / "changes.csv").open(encoding="utf-8")))
    assert [(c["change"], c["external_ref"], c["fields"]) for c in changes] == [
        ("changed", "de-pack", "fulfilments")
    ]


def test_a_broken_records_file_is_caught_by_the_validator(reference_only, tmp_path):
    from frictionless import validate

    scenario()
    call_command("export_release", str(tmp_path / "r1"), verbosity=0)
    path = tmp_path / "r1" / "fulfilments.csv"
    path.write_text(path.read_text().replace("de-part", "de-nowhere", 1))
    report = validate(str(tmp_path / "r1" / "datapackage.json"))
    assert "foreign-key" in {error.type for task in report.tasks for error in task.errors}
