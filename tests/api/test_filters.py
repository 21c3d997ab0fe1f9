"""Pledge filters, ordering and paging, each checked against a set computed in Python from the
data the test made."""

import datetime as dt
from decimal import Decimal

import pytest
from django.http import QueryDict

from pledges.filters import PledgeFilter
from pledges.models import Pledge
from tests.factories import (
    CategoryFactory,
    DonorFactory,
    EventFactory,
    PledgeFactory,
    PledgeItemFactory,
)

URL = "/api/v1/pledges/"


@pytest.fixture
def data(db):
    """Twelve pledges over three donors, categories, events, statuses, currencies, recipients."""
    donors = [DonorFactory(name=name) for name in ("Alpha fund", "Beta org", "Gamma union")]
    categories = [CategoryFactory(slug=s, name=s.title()) for s in ("air", "land", "sea")]
    events = [EventFactory(date=dt.date(2025, m, 1)) for m in (1, 2, 3)]
    statuses = ["announced", "committed", "delivered", "cancelled"]
    currencies = ["EUR", "EUR", "UAH", None]  # UAH: unconverted; None: unvalued
    rows = []
    for n in range(12):
        currency = currencies[n % 4]
        attributes = {
            "donor": donors[n % 3],
            "category": categories[(n // 3) % 3],
            "event": events[n % 3] if n % 4 else None,
            "status": statuses[(n // 2) % 4],
            "recipient": "UA" if n % 5 else "MD",
            "announced_on": dt.date(2024, 1, 1) + dt.timedelta(days=40 * n),
            "title": f"Pledge {n}" + (" with Leopard tanks" if n == 4 else ""),
            "description": "radar systems" if n == 7 else "",
            "amount": Decimal(1000 + 37 * ((n * 5) % 12)) if currency else None,
            "currency": currency or "",
        }
        pledge = PledgeFactory(**attributes)
        if n == 9:
            PledgeItemFactory(pledge=pledge, name="Patriot launcher")
        rows.append((pledge, attributes))
    return {"rows": rows, "donors": donors, "categories": categories, "events": events}


def ids(client, query) -> list[int]:
    response = client.get(URL, {**query, "page_size": 1000})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])
    return [row["id"] for row in body["results"]]


def expect(data, predicate) -> set[int]:
    chosen = {pledge.pk for pledge, attributes in data["rows"] if predicate(attributes)}
    assert chosen, "a filter case must select something"
    return chosen


def test_every_filter(anon, data):
    d1, d2, _ = data["donors"]
    air, land, _ = data["categories"]
    event = data["events"][1]
    cases = [
        ({"donor": d1.pk}, lambda a: a["donor"] == d1),
        ({"donor": [d1.pk, d2.pk]}, lambda a: a["donor"] in (d1, d2)),
        ({"category": "air"}, lambda a: a["category"] == air),
        ({"category": ["air", "land"]}, lambda a: a["category"] in (air, land)),
        ({"event": event.pk}, lambda a: a["event"] == event),
        ({"status": "committed"}, lambda a: a["status"] == "committed"),
        (
            {"status": ["announced", "cancelled"]},
            lambda a: a["status"] in ("announced", "cancelled"),
        ),
        ({"currency": "uah"}, lambda a: a["currency"] == "UAH"),
        ({"currency": "EUR"}, lambda a: a["currency"] == "EUR"),
        ({"recipient": "md"}, lambda a: a["recipient"] == "MD"),
        ({"date_from": "2024-05-10"}, lambda a: a["announced_on"] >= dt.date(2024, 5, 10)),
        ({"date_to": "2024-05-10"}, lambda a: a["announced_on"] <= dt.date(2024, 5, 10)),
        (
            {"date_from": "2024-03-21", "date_to": "2024-08-18"},  # both ends are pledge dates
            lambda a: dt.date(2024, 3, 21) <= a["announced_on"] <= dt.date(2024, 8, 18),
        ),
        ({"search": "leopard"}, lambda a: "Leopard" in a["title"]),
        ({"search": "RADAR"}, lambda a: "radar" in a["description"]),
        ({"search": "patriot"}, lambda a: a["title"] == "Pledge 9"),
        (
            {"donor": d1.pk, "status": ["announced", "committed"], "currency": "eur"},
            lambda a: (
                a["donor"] == d1
                and a["status"] in ("announced", "committed")
                and a["currency"] == "EUR"
            ),
        ),
    ]
    for query, predicate in cases:
        assert set(ids(anon, query)) == expect(data, predicate), query
    assert len(ids(anon, {})) == 12


def test_filter_selecting_nothing(anon, data):
    assert ids(anon, {"date_from": "2030-01-01"}) == []


def by_value(data):
    valued = sorted(
        ((a["amount"], p.pk) for p, a in data["rows"] if a["currency"] == "EUR"),
    )
    unvalued = {p.pk for p, a in data["rows"] if a["currency"] != "EUR"}
    return [pk for _, pk in valued], unvalued


def test_ordering_by_value_puts_nulls_last_both_ways(anon, data):
    valued, unvalued = by_value(data)
    # Amounts are distinct (5n mod 12 runs through 0..11), so the order is fully defined.

    ascending = ids(anon, {"ordering": "value_eur"})
    assert ascending[: len(valued)] == valued
    assert set(ascending[len(valued) :]) == unvalued

    descending = ids(anon, {"ordering": "-value_eur"})
    assert descending[: len(valued)] == valued[::-1]
    assert set(descending[len(valued) :]) == unvalued


def test_ordering_by_date_and_donor(anon, data):
    rows = data["rows"]
    by_date = [p.pk for p, a in sorted(rows, key=lambda r: r[1]["announced_on"])]
    assert ids(anon, {"ordering": "announced_on"}) == by_date
    assert ids(anon, {"ordering": "-announced_on"}) == by_date[::-1]
    names = [
        a["donor"].name
        for pk in ids(anon, {"ordering": "donor__name"})
        for p, a in rows
        if p.pk == pk
    ]
    assert names == sorted(names)
    names = [
        a["donor"].name
        for pk in ids(anon, {"ordering": "-donor__name"})
        for p, a in rows
        if p.pk == pk
    ]
    assert names == sorted(names, reverse=True)


def test_default_order_is_newest_first(anon, data):
    newest = [
        p.pk for p, a in sorted(data["rows"], key=lambda r: r[1]["announced_on"], reverse=True)
    ]
    assert ids(anon, {}) == newest


def test_paging(anon, data):
    first = anon.get(URL, {"page_size": 5}).json()
    assert first["count"] == 12
    assert len(first["results"]) == 5
    assert first["previous"] is None
    assert "page=2" in first["next"]
    last = anon.get(URL, {"page_size": 5, "page": 3}).json()
    assert len(last["results"]) == 2
    assert last["next"] is None
    assert anon.get(URL, {"page_size": 5, "page": "last"}).json() == last


def test_page_size_default_and_cap(anon, db):
    donor, category = DonorFactory(), CategoryFactory()
    Pledge.objects.bulk_create(
        Pledge(donor=donor, category=category, announced_on=dt.date(2025, 1, 1), title=f"P{n}")
        for n in range(1003)
    )
    assert len(anon.get(URL).json()["results"]) == 50
    assert len(anon.get(URL, {"page_size": 999}).json()["results"]) == 999
    for huge in ("1001", "5000", "9" * 50):
        body = anon.get(URL, {"page_size": huge}).json()
        assert body["count"] == 1003
        assert len(body["results"]) == 1000


def test_filtersets_share_their_form_class_not_their_data(data, anon):
    """The form class is made once per filterset class; each request's values, choices and
    errors stay its own."""
    donor = data["donors"][0]
    refused = anon.get(URL, {"donor": "x", "status": "nonsense"})
    assert refused.status_code == 400
    assert set(refused.json()) == {"donor", "status"}
    listed = anon.get(URL, {"donor": donor.pk})
    assert listed.status_code == 200
    assert {row["donor"]["id"] for row in listed.json()["results"]} == {donor.pk}
    assert listed.json()["count"] == Pledge.objects.filter(donor=donor).count()
    forms = [PledgeFilter(QueryDict(query)).form for query in ("", "donor=x")]
    assert type(forms[0]) is type(forms[1])
    assert forms[0].is_valid() and not forms[1].is_valid()
    assert forms[0].fields["donor"] is not forms[1].fields["donor"]
