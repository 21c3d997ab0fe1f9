"""A user's text never becomes a format string, in the importer's messages and in
the admin (forms, list filters, search, import preview). Each is tried with format directives
and answers with the text quoted as it was given, nothing written."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from pledges.importing import import_file
from pledges.models import Pledge, Source
from tests.api.test_format_strings import FORMAT_TEXTS
from tests.pledges import test_admin, test_admin_import_export, test_import_export
from tests.pledges.test_admin import pledge_form
from tests.pledges.test_admin_import_export import upload
from tests.pledges.test_import_export import csv_file, errors_of, row

# Fixtures of the modules these tests extend.
editor = test_admin.editor
admin_client = test_admin_import_export.admin_client
reference_only = test_import_export.reference_only

# Cells that the importer quotes back in its messages.
CELLS = ["donor", "category", "currency", "recipient", "status", "amount", "announced_on"]


def bad_row(text: str) -> dict:
    return row(
        "ref-1",
        event=text,
        event_date="2025-06-04",
        items=json.dumps([{"name": "x", "quantity": text}]),
        sources=json.dumps([{"url": text, "publisher": "x"}]),
        **dict.fromkeys(CELLS, text),
    )


def test_import_cells_are_quoted_not_formatted(reference_only):
    for text in FORMAT_TEXTS:
        report = import_file(csv_file([bad_row(text)]), "csv")
        columns = {column for _, column in errors_of(report)}
        assert {*CELLS, "event", "items[1].quantity", "sources[1].url"} <= columns, text
        quoting = [e.message for e in report.errors if e.column in {"donor", "category", "event"}]
        assert all(text in message for message in quoting), (text, quoting)
    assert not Pledge.objects.exists()
    assert not Source.objects.exists()


def test_admin_import_preview_shows_the_cells(reference_only, admin_client):
    for text in FORMAT_TEXTS:
        response = upload(admin_client, csv_file([bad_row(text)]))
        assert response.status_code == 200
        assert response.context["result"].has_validation_errors()
        assert "confirm_form" not in response.context
    assert not Pledge.objects.exists()


@pytest.mark.django_db
def test_admin_list_filters_and_search(admin_client):
    url = reverse("admin:pledges_pledge_changelist")
    for text in FORMAT_TEXTS:
        for name in ("currency", "year", "status", "q", "donor__id__exact", "o"):
            response = admin_client.get(url, {name: text})
            # The admin answers an unknown filter value by a redirect to ?e=1.
            assert response.status_code in (200, 302), (name, text)


@pytest.mark.django_db
def test_admin_form_fields(client, editor):
    url = reverse("admin:pledges_pledge_add")
    for text in FORMAT_TEXTS:
        for field in ("currency", "recipient", "amount", "announced_on", "status"):
            response = client.post(url, pledge_form(**{field: text}))
            assert response.status_code == 200, (field, text)
            assert field in response.context["adminform"].form.errors, (field, text)
    assert not Pledge.objects.exists()


def test_command_line_filters_and_options(reference_only):
    for text in FORMAT_TEXTS:
        for command, option in (
            ("export_pledges", ["--filter", f"currency={text}"]),
            ("export_pledges", ["--filter", f"recipient={text}"]),
            ("pledge_report", ["--currency", text]),
            ("pledge_report", ["--group-by", text]),
        ):
            with pytest.raises(CommandError) as refused:
                call_command(command, *option, stdout=io.StringIO())
            assert option[-1].split("=")[-1].upper() in str(refused.value).upper(), refused.value
