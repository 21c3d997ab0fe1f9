"""Uploads are bounded before anything parses them: the admin's import refuses a file over
IMPORT_MAX_FILE_SIZE, and an XLSX archive that would unpack past IMPORT_MAX_UNCOMPRESSED_SIZE
or has too many members (a zip bomb) is refused from its directory alone, in the admin and on
the command line. XML entities are refused (defusedxml)."""

import io
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from pledges.models import Pledge
from pledges.spreadsheet import (
    SpreadsheetError,
    export_queryset,
    iter_rows,
    read_xlsx,
    write_xlsx,
)
from tests.factories import PledgeFactory
from tests.pledges.test_admin_import_export import (  # noqa: F401 - fixtures
    CSV_FORMAT,
    IMPORT_URL,
    XLSX_FORMAT,
    admin_client,
    upload,
)

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def zip_bomb(unpacked: int = 50 * MB) -> bytes:
    """A small workbook-shaped archive whose sheet unpacks to ``unpacked`` bytes."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"\0" * MB
            for _ in range(unpacked // MB):
                member.write(chunk)
    return raw.getvalue()


def many_members(count: int) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for index in range(count):
            archive.writestr(f"xl/part{index}.xml", "")
    return raw.getvalue()


def workbook_with_entities() -> bytes:
    """A real export whose workbook part defines an XML entity (the start of a billion
    laughs): defusedxml refuses any."""
    PledgeFactory()
    out = io.BytesIO()
    write_xlsx(iter_rows(export_queryset(Pledge.objects.all())), out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/workbook.xml":
                assert not data.startswith(b"<?xml")
                doctype = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                data = doctype + data
            target.writestr(info, data)
    return raw.getvalue()


def test_a_zip_bomb_is_refused_from_its_directory(settings):
    settings.IMPORT_MAX_UNCOMPRESSED_SIZE = 20 * MB
    bomb = zip_bomb()
    assert len(bomb) < MB // 10  # small on the wire
    started = time.perf_counter()
    with pytest.raises(SpreadsheetError, match="would unpack to 52,428,8"):
        read_xlsx(bomb)
    # Refused without unpacking: far less time than inflating 50 MB (not a timing claim,
    # a bound a thousand times the expected one).
    assert time.perf_counter() - started < 5


def test_too_many_members_are_refused(settings):
    settings.IMPORT_MAX_ARCHIVE_MEMBERS = 100
    with pytest.raises(SpreadsheetError, match="101 parts; at most 100"):
        read_xlsx(many_members(101))


def test_xml_entities_are_refused():
    import openpyxl

    assert openpyxl.DEFUSEDXML is True
    with pytest.raises(SpreadsheetError, match="not a readable XLSX"):
        read_xlsx(workbook_with_entities())


def test_the_command_refuses_a_bomb(settings, tmp_path):
    settings.IMPORT_MAX_UNCOMPRESSED_SIZE = 20 * MB
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(zip_bomb())
    errors = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_pledges", str(path), verbosity=0, stderr=errors)
    assert "would unpack to 52,428,8" in errors.getvalue()


def test_the_admin_refuses_a_bomb(settings, admin_client):  # noqa: F811
    settings.IMPORT_MAX_UNCOMPRESSED_SIZE = 20 * MB
    response = upload(admin_client, zip_bomb(), name="bomb.xlsx", file_format=XLSX_FORMAT)
    assert response.status_code == 200
    assert "would unpack to 52,428,8" in response.content.decode()
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert Pledge.objects.count() == 0


def test_the_admin_refuses_entities(admin_client):  # noqa: F811
    data = workbook_with_entities()
    before = list(Pledge.objects.values())
    response = upload(admin_client, data, name="entities.xlsx", file_format=XLSX_FORMAT)
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    assert list(Pledge.objects.values()) == before


def test_the_admin_refuses_a_file_over_the_limit(settings, admin_client):  # noqa: F811
    settings.IMPORT_MAX_FILE_SIZE = 1000
    response = upload(admin_client, b"external_ref\n" + b"x" * 2000)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The file is 2,013 bytes; files of at most 1,000 bytes can be imported" in page
    assert Pledge.objects.count() == 0


def test_an_oversized_request_is_a_413_before_it_is_read(settings, admin_client):  # noqa: F811
    settings.IMPORT_MAX_FILE_SIZE = 1000
    big = SimpleUploadedFile("big.csv", b"x" * (200 * 1024), content_type="text/csv")
    response = admin_client.post(
        IMPORT_URL, {"resource": "0", "format": CSV_FORMAT, "import_file": big}
    )
    assert response.status_code == 413
    assert "at most 1,000 bytes" in response.content.decode()
    assert Pledge.objects.count() == 0
