"""``GET /api/v1/reports/totals/`` (docs/data-dictionary.md#reports)."""

import csv
import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from pledges import reports
from pledges.models import Pledge
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory
from tests.report_scenario import (
    BELGIUM_EUR,
    DRONES_EUR,
    NORWAY_EUR,
    REMAINDER_EUR,
    TOTAL_EUR,
    TRAINING_EUR,
    WEDNESDAY,
    scenario_fixture,  # noqa: F401 - the scenario fixture
)

URL = "/api/v1/reports/totals/"


@pytest.fixture
def client():
    return APIClient()


def get(client, **params):
    return client.get(URL, params, HTTP_ACCEPT="application/json")


def test_overall_figures(client, scenario):
    response = get(client)
    assert response.status_code == 200
    assert response.json() == {
        "currency": "EUR",
        "group_by": [],
        "allocation": "announcement",
        "rows": [],
        "total": str(TOTAL_EUR),
        "pledges": 8,
        "unvalued": 2,
        "unconverted": 1,
        "reannounced": 0,
        # Norway's pledge is marked delivered (without records): delivered in full.
        "allocated": str(NORWAY_EUR),
        "delivered": str(NORWAY_EUR),
        "outstanding": str(TOTAL_EUR - NORWAY_EUR),
    }


def test_rows_by_donor_are_objects_ordered_by_total(client, scenario):
    body = get(client, group_by="donor").json()
    uk = scenario["package"].donor
    assert [row["donor"]["name"] for row in body["rows"]] == [
        "Belgium",
        "United Kingdom",
        "Norway",
        "Canada",
    ]
    assert body["rows"][1] == {
        "donor": {"id": uk.pk, "name": "United Kingdom", "iso2": None},
        "total": str(REMAINDER_EUR + DRONES_EUR + TRAINING_EUR),
        "pledges": 4,
        "unvalued": 1,
        "unconverted": 0,
        "reannounced": 0,
        "allocated": "0.00",
        "delivered": "0.00",
        "outstanding": str(REMAINDER_EUR + DRONES_EUR + TRAINING_EUR),
    }
    assert body["total"] == str(TOTAL_EUR)


def test_row_keys_of_every_kind(client, scenario):
    event = scenario["package"].event
    rows = get(client, group_by="event,category").json()["rows"]
    assert {
        "event": {"id": event.pk, "name": "UDCG 28", "date": "2025-06-04"},
        "category": {"id": scenario["drones"].category_id, "slug": "drones", "name": "Drones"},
        "total": str(DRONES_EUR),
        "pledges": 1,
        "unvalued": 0,
        "unconverted": 0,
        "reannounced": 0,
        "allocated": "0.00",
        "delivered": "0.00",
        "outstanding": str(DRONES_EUR),
    } in rows
    assert any(row["event"] is None for row in rows)
    quarter = get(client, group_by="quarter,status").json()["rows"]
    assert {(row["quarter"], row["status"]) for row in quarter} == {
        ("2025-Q2", "announced"),
        ("2025-Q2", "committed"),
        ("2024-Q1", "delivered"),
    }
    month = get(client, group_by="month,recipient").json()["rows"]
    assert {(row["month"], row["recipient"]) for row in month} == {
        ("2025-06", "UA"),
        ("2024-02", "UA"),
    }
    years = get(client, group_by="year,currency").json()["rows"]
    assert {"year": 2024, "currency": "USD"} in [
        {"year": row["year"], "currency": row["currency"]} for row in years
    ]


def test_filters_select_pledges_and_components_still_subtract(client, scenario):
    body = get(client, category="other").json()
    assert body["total"] == str(REMAINDER_EUR + BELGIUM_EUR + NORWAY_EUR)
    body = get(client, donor=scenario["norway"].donor_id, status="delivered").json()
    assert (body["total"], body["pledges"]) == (str(NORWAY_EUR), 1)
    body = get(client, pledge_currency="uah").json()
    assert (body["total"], body["pledges"], body["unconverted"]) == ("0.00", 1, 1)
    body = get(client, date_to="2024-12-31").json()
    assert body["total"] == str(NORWAY_EUR)
    body = get(client, event=scenario["package"].event_id).json()
    assert body["total"] == str(REMAINDER_EUR + DRONES_EUR)
    body = get(client, search=scenario["norway"].title, recipient="ua").json()
    assert (body["total"], body["pledges"]) == (str(NORWAY_EUR), 1)


def test_cancelled_only_when_the_status_filter_asks(client, scenario):
    body = get(client, status=["cancelled"], group_by="status").json()
    assert [row["status"] for row in body["rows"]] == ["cancelled"]
    assert body["pledges"] == 2
    both = client.get(URL + "?status=cancelled&status=delivered", HTTP_ACCEPT="application/json")
    assert both.json()["pledges"] == 3


def test_period_allocation(client, scenario):
    body = get(client, group_by="year", allocation="period").json()
    years = {row["year"]: row for row in body["rows"]}
    assert sorted(years) == [2024, 2025, 2026, 2027, 2028, 2029]
    assert years[2027]["total"] == "1000000000.00"
    assert years[2027]["pledges"] == 1
    assert body["pledges"] == 8
    assert body["total"] == str(TOTAL_EUR)


def test_target_currency(client, scenario):
    body = get(client, currency="usd").json()
    assert body["currency"] == "USD"
    # Each pledge in USD at its own date (see tests/pledges/test_reports.py).
    assert Decimal(body["total"]) == Decimal("1351858449.12") + Decimal("5692000000.00") + Decimal(
        "700000000.00"
    )


def test_csv_has_names_and_the_same_figures(client, scenario):
    response = client.get(URL, {"group_by": "donor,category", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    data = get(client, group_by="donor,category").json()
    assert len(rows) == len(data["rows"])
    for row, expected in zip(rows, data["rows"], strict=True):
        assert row["donor"] == expected["donor"]["name"]
        assert row["category"] == expected["category"]["name"]
        for figure in reports.FIGURES:
            assert row[figure] == str(expected[figure])
    overall = client.get(URL, {"format": "csv"}).content.decode().splitlines()
    assert overall == [
        "total,pledges,unvalued,unconverted,reannounced,allocated,delivered,outstanding",
        f"{TOTAL_EUR},8,2,1,0,{NORWAY_EUR},{NORWAY_EUR},{TOTAL_EUR - NORWAY_EUR}",
    ]


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"group_by": "flavour"}, "group_by"),
        ({"group_by": "donor,category,year"}, "group_by"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "UAH"}, "currency"),
        ({"allocation": "evenly"}, "allocation"),
        ({"allocation": "period"}, "allocation"),
        ({"format": "xml"}, "format"),
        ({"format": "csv", "group_by": "nope"}, "group_by"),
        ({"donor": "999999"}, "donor"),
        ({"donor": "abc"}, "donor"),
        ({"category": "no-such-category"}, "category"),
        ({"event": "999999"}, "event"),
        ({"status": "lost"}, "status"),
        ({"pledge_currency": "EURO"}, "pledge_currency"),
        ({"recipient": "XX"}, "recipient"),
        ({"date_from": "2025-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, db, params, bad):
    before = Pledge.objects.count()
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == [bad]
    assert Pledge.objects.count() == before


def test_every_bad_parameter_named_at_once(client, db):
    response = get(client, group_by="x", currency="x", allocation="x", format="x", status="x")
    assert response.status_code == 400
    assert set(response.json()) == {"group_by", "currency", "allocation", "format", "status"}


def test_query_count_does_not_grow_with_pledges(client, db, django_assert_num_queries):
    def add(count):
        donor, category = DonorFactory(), CategoryFactory()
        for _ in range(count):
            PledgeFactory(donor=donor, category=category, announced_on=WEDNESDAY)

    add(2)
    # ATOMIC_REQUESTS' savepoint and its release, the data version (api/caching.py), the target
    # currency's rates, the report, the donors' names.
    with django_assert_num_queries(6):
        assert get(client, group_by="donor,month", currency="USD").status_code == 200
    add(20)
    with django_assert_num_queries(6):
        assert get(client, group_by="donor,month", currency="USD").json()["pledges"] == 22


def test_schema_documents_every_parameter():
    from drf_spectacular.generators import SchemaGenerator

    from pledges.filters import ReportPledgeFilter

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/reports/totals/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names >= {
        "group_by",
        "currency",
        "allocation",
        "format",
        *ReportPledgeFilter.base_filters,
    }
