"""Import and export of pledges in the admin (django-import-export), on the command's layout."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from pledges.models import Pledge
from pledges.spreadsheet import HEADER
from tests.pledges.test_import_export import csv_file, row

IMPORT_URL = "/admin/pledges/pledge/import/"
PROCESS_URL = "/admin/pledges/pledge/process_import/"
EXPORT_URL = "/admin/pledges/pledge/export/"
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def admin_client(db):
    user = get_user_model().objects.create_superuser("editor", "editor@example.org", "pw-12345!")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def reference_only(db):
    call_command("loaddata", "categories", "donors", "events", verbosity=0)


def upload(client, data: bytes, name="pledges.csv", file_format=CSV_FORMAT):
    return client.post(
        IMPORT_URL,
        {
            "resource": "0",
            "format": file_format,
            "import_file": SimpleUploadedFile(name, data, content_type="text/csv"),
        },
    )


def test_preview_then_confirm(reference_only, admin_client):
    data = csv_file([row("a"), row("b", parent_ref="a", amount="10.00")])
    preview = upload(admin_client, data)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert not result.has_errors()
    assert not result.has_validation_errors()
    assert [r.import_type for r in result.rows] == ["new", "new"]
    assert b"Preview" in preview.content
    assert not Pledge.objects.exists()  # the preview is a dry run

    confirm = preview.context["confirm_form"]
    response = admin_client.post(PROCESS_URL, dict(confirm.initial))
    assert response.status_code == 302
    package = Pledge.objects.get(external_ref="a")
    assert Pledge.objects.get(external_ref="b").parent == package
    history = package.history.get()
    assert history.history_user == admin_client.user

    again = upload(admin_client, data)
    assert [r.import_type for r in again.context["result"].rows] == ["skip", "skip"]


def test_bad_rows_are_shown_and_nothing_can_be_confirmed(reference_only, admin_client):
    data = csv_file([row("a"), row("b", donor="Atlantis", amount="-1"), row("a")])
    response = upload(admin_client, data)
    result = response.context["result"]
    assert result.has_validation_errors()
    errors = {r.number: r.field_specific_errors for r in result.invalid_rows}
    assert set(errors) == {3, 4}
    assert set(errors[3]) == {"donor", "amount"}
    assert set(errors[4]) == {"external_ref"}
    assert "confirm_form" not in response.context
    assert b"Atlantis" in response.content
    assert not Pledge.objects.exists()


def test_latin1_file_is_refused(reference_only, admin_client):
    data = csv_file([row("a", title="Défense")]).decode("utf-8").encode("latin-1")
    response = upload(admin_client, data)
    assert response.status_code == 200
    assert "UnicodeDecodeError" in str(response.context["form"].errors["import_file"])
    assert "confirm_form" not in response.context
    assert not Pledge.objects.exists()


def test_missing_columns_are_shown(reference_only, admin_client):
    response = upload(admin_client, b"external_ref,title\nx,y\n")
    result = response.context["result"]
    assert result.invalid_rows[0].number == 1
    assert "Missing columns" in result.invalid_rows[0].field_specific_errors["header"][0]
    assert not Pledge.objects.exists()


def test_xlsx_export_imports_back_in_the_admin(reference_data, admin_client, tmp_path):
    call_command("export_pledges", "--format", "xlsx", "--output", str(tmp_path / "p.xlsx"))
    data = (tmp_path / "p.xlsx").read_bytes()
    response = upload(admin_client, data, "p.xlsx", XLSX_FORMAT)
    result = response.context["result"]
    assert not result.has_validation_errors(), result.invalid_rows
    assert {r.import_type for r in result.rows} == {"skip"}
    assert len(result.rows) == Pledge.objects.count()


def test_export_in_the_admin_is_the_command_layout(reference_data, admin_client):
    data = {"format": CSV_FORMAT, "resource": "0"}
    data.update({f"pledgeresource_{name}": "on" for name in HEADER})
    response = admin_client.post(EXPORT_URL, data)
    assert response.status_code == 200
    out = io.StringIO()
    call_command("export_pledges", stdout=out)
    assert response.content.decode("utf-8") == out.getvalue()


def test_export_of_selected_columns(reference_data, admin_client):
    data = {"format": CSV_FORMAT, "resource": "0"}
    data.update({"pledgeresource_external_ref": "on", "pledgeresource_title": "on"})
    response = admin_client.post(EXPORT_URL, data)
    lines = response.content.decode("utf-8").splitlines()
    assert lines[0] == "external_ref,title"
    assert len(lines) == Pledge.objects.count() + 1
