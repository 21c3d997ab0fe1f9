"""GET /api/v1/exports/pledges.csv: the export layout, streamed, with the pledge list's filters."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pledges.models import Pledge
from pledges.spreadsheet import HEADER
from tests.conftest import load_reference_data, shared_by_module
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory, PledgeItemFactory

URL = "/api/v1/exports/pledges.csv"
pytestmark = pytest.mark.django_db
# The reference data, loaded once for the module's tests (each runs in a savepoint of its own).
reference_data = shared_by_module(load_reference_data)


@pytest.fixture
def client():
    return Client(HTTP_HOST="localhost")


def body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def test_route_name():
    assert reverse("api:pledge-export-csv") == URL


def test_whole_export_equals_the_command_output(reference_data, client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="pledges.csv"'
    out = io.StringIO()
    call_command("export_pledges", stdout=out)
    assert body(response) == out.getvalue()


def test_csv_whatever_the_accept_header(reference_data, client):
    response = client.get(URL, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert body(response).startswith(",".join(HEADER))


def test_filters_are_the_pledge_lists(reference_data, client):
    donor = Pledge.objects.filter(currency="GBP").first().donor
    response = client.get(URL, {"donor": donor.pk, "status": "announced", "currency": "gbp"})
    rows = list(csv.DictReader(io.StringIO(body(response))))
    expected = Pledge.objects.filter(donor=donor, status="announced", currency="GBP")
    assert rows
    assert sorted(r["external_ref"] for r in rows) == sorted(p.external_ref for p in expected)


def test_search_and_ordering(reference_data, client):
    rows = list(csv.DictReader(io.StringIO(body(client.get(URL, {"ordering": "-value_eur"})))))
    values = [r["value_eur"] for r in rows]
    valued = [v for v in values if v]
    assert values[: len(valued)] == valued  # unvalued last
    from decimal import Decimal

    assert [Decimal(v) for v in valued] == sorted((Decimal(v) for v in valued), reverse=True)
    drones = list(csv.DictReader(io.StringIO(body(client.get(URL, {"search": "drone"})))))
    assert drones
    assert all("drone" in (r["title"] + r["description"] + r["items"]).lower() for r in drones)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"status": "promised"}, "status"),
        ({"donor": "999999"}, "donor"),
        ({"donor": "abc"}, "donor"),
        ({"category": "lasers"}, "category"),
        ({"currency": "XXY"}, "currency"),
        ({"recipient": "XX"}, "recipient"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"event": "0"}, "event"),
        ({"ordering": "title"}, "ordering"),
    ],
)
def test_bad_filter_is_a_400_naming_it(reference_data, client, query, param):
    response = client.get(URL, query, HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert param in response.json()


def test_queries_do_not_grow_with_rows(db, client):
    donor, category = DonorFactory(), CategoryFactory()

    def queries_for(count):
        for _ in range(count):
            PledgeItemFactory(pledge=PledgeFactory(donor=donor, category=category))
        with CaptureQueriesContext(connection) as context:
            lines = body(client.get(URL)).splitlines()
        assert len(lines) == Pledge.objects.count() + 1
        return [q["sql"].split(" ")[0] for q in context.captured_queries]

    few = queries_for(3)
    # The bounded count of an anonymous export (API_ANON_EXPORT_MAX_ROWS), the pledges with
    # their relations (a server-side cursor on PostgreSQL), then items and sources, besides
    # the request's savepoint.
    assert few.count("SELECT") + few.count("DECLARE") == 4
    assert queries_for(30) == few
