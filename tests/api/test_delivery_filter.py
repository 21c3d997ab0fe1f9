"""The ``delivery`` filter (none, partial, full; repeatable) and ``reannouncement`` on the pledge
list, the reports, the export and the command line, against sets worked out by hand."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from pledges.choices import FulfilmentKind, PledgeStatus
from pledges.counted import refresh_counted_values
from pledges.models import Fulfilment, FulfilmentItem, Pledge
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory, PledgeItemFactory

DAY = dt.date(2025, 3, 3)
LATER = dt.date(2025, 5, 5)


@pytest.fixture
def pledges(db):
    """One pledge of each delivery: none, partial (by its records), full (by its records),
    full (marked delivered without records), full (an unvalued pledge whose items were all
    delivered); and a re-announcement of the partial one, itself without records."""
    donor, category = DonorFactory(name="Filter donor"), CategoryFactory(slug="filter")

    def pledge(**fields):
        return PledgeFactory(donor=donor, category=category, announced_on=DAY, **fields)

    made = {
        "none": pledge(amount=Decimal("1000.00")),
        "partial": pledge(amount=Decimal("2000.00"), status=PledgeStatus.COMMITTED),
        "full": pledge(amount=Decimal("4000.00"), status=PledgeStatus.DELIVERED),
        "undated": pledge(amount=Decimal("8000.00"), status=PledgeStatus.DELIVERED),
        "items": pledge(amount=None, currency="", status=PledgeStatus.COMMITTED),
    }
    made["again"] = pledge(amount=Decimal("2000.00"), reannounces=made["partial"])
    delivered = FulfilmentKind.DELIVERED
    Fulfilment.objects.create(
        pledge=made["partial"], kind=delivered, date=LATER, amount=Decimal("500.00")
    )
    Fulfilment.objects.create(
        pledge=made["full"], kind=delivered, date=LATER, amount=Decimal("4000.00")
    )
    item = PledgeItemFactory(pledge=made["items"], quantity=3)
    record = Fulfilment.objects.create(pledge=made["items"], kind=delivered, date=LATER)
    FulfilmentItem.objects.create(fulfilment=record, item=item, quantity=3)
    refresh_counted_values(pledge.pk for pledge in made.values())
    deliveries = dict(Pledge.objects.values_list("pk", "delivery"))
    assert [deliveries[made[name].pk] for name in made] == [
        "none",
        "partial",
        "full",
        "full",
        "full",
        "none",
    ]
    return made


def ids(anon, **query) -> set[int]:
    response = anon.get("/api/v1/pledges/", {**query, "page_size": 1000})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_list(anon, pledges):
    pk = {name: pledge.pk for name, pledge in pledges.items()}
    assert ids(anon, delivery="none") == {pk["none"], pk["again"]}
    assert ids(anon, delivery="partial") == {pk["partial"]}
    assert ids(anon, delivery="full") == {pk["full"], pk["undated"], pk["items"]}
    assert ids(anon, delivery=["partial", "full"]) == set(pk.values()) - {pk["none"], pk["again"]}
    assert ids(anon, delivery="none", reannouncement="true") == {pk["again"]}
    assert ids(anon, delivery="none", reannouncement="false") == {pk["none"]}


def report(anon, **query) -> dict:
    response = anon.get("/api/v1/reports/totals/", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_reports(anon, pledges):
    full = report(anon, delivery="full")
    assert (full["pledges"], full["total"], full["delivered"]) == (3, "12000.00", "12000.00")
    assert full["unvalued"] == 1
    both = report(anon, delivery=["partial", "full"], group_by="donor")
    assert (both["total"], both["delivered"], both["outstanding"]) == (
        "14000.00",
        "12500.00",
        "1500.00",
    )
    assert both["rows"][0]["delivered"] == "12500.00"
    # The re-announcement is selected, counted in pledges and reannounced, and in no money.
    again = report(anon, reannouncement="true")
    assert (again["pledges"], again["reannounced"], again["total"]) == (1, 1, "0.00")
    new = report(anon, reannouncement="false")
    assert (new["pledges"], new["reannounced"], new["total"]) == (5, 0, "15000.00")
    assert new["delivered"] == "12500.00"


def test_the_export_and_the_commands(anon, pledges):
    response = anon.get("/api/v1/exports/pledges.csv", {"delivery": "partial"})
    content = b"".join(response.streaming_content).decode()
    refs = [row["external_ref"] for row in csv.DictReader(io.StringIO(content))]
    assert refs == [f"pledge-{pledges['partial'].pk}"]
    out = io.StringIO()
    call_command(
        "pledge_report", "--delivery", "full", "--delivery", "none", "--format", "json", stdout=out
    )
    assert json.loads(out.getvalue()) == report(anon, delivery=["full", "none"])
    out = io.StringIO()
    call_command("export_pledges", "--filter", "delivery=none", stdout=out)
    assert len(list(csv.DictReader(io.StringIO(out.getvalue())))) == 2


@pytest.mark.parametrize("url", ["/api/v1/pledges/", "/api/v1/reports/totals/"])
def test_a_bad_value_is_named(anon, pledges, url):
    response = anon.get(url, {"delivery": "most"})
    assert response.status_code == 400
    assert list(response.json()) == ["delivery"]


def test_the_schema_describes_them():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/v1/pledges/", "/api/v1/reports/totals/"):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        delivery = parameters["delivery"]
        assert delivery["schema"]["type"] == "array"
        assert delivery["schema"]["items"]["enum"] == ["full", "none", "partial"]
        assert parameters["reannouncement"]["schema"]["enum"] == ["false", "true"]
