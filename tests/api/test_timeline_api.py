"""``GET /api/v1/reports/timeline/`` (docs/data-dictionary.md#the-timeline): the engine's
figures as JSON and CSV, every filter, errors naming the parameter, a constant query count,
and the schema."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from pledges.models import Pledge
from tests.timeline_scenario import (
    MONTHS,
    timeline_pledges_fixture,  # noqa: F401 - the scenario fixture
)

URL = "/api/v1/reports/timeline/"


@pytest.fixture
def client():
    return APIClient()


def get(client, **params):
    return client.get(URL, params, HTTP_ACCEPT="application/json")


def test_by_month(client, timeline_pledges):
    response = get(client)
    assert response.status_code == 200
    body = response.json()
    assert (body["currency"], body["interval"], body["group_by"]) == ("EUR", "month", [])
    assert [
        (row["period"], row["pledged"], row["allocated"], row["delivered"]) for row in body["rows"]
    ] == MONTHS
    assert body["rows"][0] == {
        "period": "2025-01",
        "pledged": "1000000.00",
        "allocated": "0.00",
        "delivered": "0.00",
        "cumulative_pledged": "1000000.00",
        "cumulative_allocated": "0.00",
        "cumulative_delivered": "0.00",
    }


def test_a_key_an_interval_a_currency_and_the_filters(client, timeline_pledges):
    alpha = timeline_pledges["alpha"].donor
    body = get(client, interval="year", group_by="donor", currency="usd").json()
    assert body["currency"] == "USD"
    first = body["rows"][0]
    assert (first["period"], first["donor"]) == (
        2025,
        {"id": alpha.pk, "name": "Alpha", "iso2": None},
    )
    quarters = get(client, interval="quarter", donor=alpha.pk, delivery="partial").json()["rows"]
    # Alpha's partly delivered pledges: the first (its records in Q1 and Q2) and the package
    # (pledged and delivered, beyond its remainder of 120,000, in Q2); not the component.
    assert [(r["period"], r["pledged"], r["delivered"]) for r in quarters] == [
        ("2025-Q1", "1000000.00", "250000.00"),
        ("2025-Q2", "120000.00", "370000.00"),
    ]
    dated = get(client, date_from="2025-06-01", pledge_currency="gbp").json()["rows"]
    assert [row["period"] for row in dated] == ["2025-06", "2025-08", "2025-09"]
    again = get(client, reannouncement="true").json()["rows"]
    assert [(r["period"], r["pledged"], r["delivered"]) for r in again] == [
        ("2025-05", "0.00", "0.00")
    ]
    cancelled = get(client, status="cancelled", group_by="status").json()["rows"]
    assert [(r["period"], r["status"], r["delivered"]) for r in cancelled] == [
        ("2025-06", "cancelled", "0.00"),
        ("2025-07", "cancelled", "5000.00"),
    ]


def test_csv(client, timeline_pledges):
    response = client.get(URL, {"group_by": "category", "format": "csv", "interval": "year"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="pledge-timeline.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "period",
        "category",
        "pledged",
        "allocated",
        "delivered",
        "cumulative_pledged",
        "cumulative_allocated",
        "cumulative_delivered",
    ]
    data = get(client, group_by="category", interval="year").json()["rows"]
    assert rows[1:] == [
        [str(row["period"]), row["category"]["name"], *list(row.values())[2:]] for row in data
    ]


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"interval": "week"}, "interval"),
        ({"group_by": "donor,category"}, "group_by"),
        ({"group_by": "year"}, "group_by"),
        ({"currency": "UAH"}, "currency"),
        ({"format": "xml"}, "format"),
        ({"format": "csv", "interval": "day"}, "interval"),
        ({"delivery": "most"}, "delivery"),
        ({"donor": "abc"}, "donor"),
        ({"date_from": "2025-13-01"}, "date_from"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, db, params, bad):
    before = Pledge.objects.count()
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [bad]
    assert Pledge.objects.count() == before


def test_query_count_does_not_grow_with_pledges(
    client, timeline_pledges, django_assert_num_queries
):
    # ATOMIC_REQUESTS' savepoint and its release, the data version, the target currency's
    # rates, the pledged money, the records, the donors' names.
    with django_assert_num_queries(7):
        assert get(client, group_by="donor", currency="USD").status_code == 200
    with django_assert_num_queries(5):
        assert get(client, group_by="status").status_code == 200


def test_the_schema_and_the_root(client, db):
    from drf_spectacular.generators import SchemaGenerator

    from pledges.filters import ReportPledgeFilter

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][URL]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) >= {"interval", "group_by", "currency", "format"}
    assert set(parameters) >= set(ReportPledgeFilter.base_filters)
    assert parameters["interval"]["schema"]["enum"] == ["month", "quarter", "year"]
    assert "allocation" not in parameters
    assert {"200", "400", "429"} <= set(operation["responses"])
    root = client.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    assert root["reports/timeline"] == "http://testserver/api/v1/reports/timeline/"
