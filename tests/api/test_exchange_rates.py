"""exchange-rates/: stored rates, and the one rate conversion uses on a date, checked against
the ECB file read independently."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.ecb import ecb_rates

URL = "/api/v1/exchange-rates/"


def expected_rate(currency: str, on: dt.date) -> tuple[dt.date, Decimal] | None:
    """That day's rate or the latest of the 7 days before it, from the CSV."""
    published = ecb_rates().get(currency, {})
    for back in range(8):
        day = on - dt.timedelta(days=back)
        if day in published:
            return day, published[day]
    return None


@pytest.mark.parametrize(
    ("currency", "requested"),
    [
        ("GBP", "2025-06-07"),  # Saturday: Friday's rate
        ("gbp", "2025-06-08"),  # Sunday, lower case
        ("USD", "2024-12-25"),  # Christmas: no ECB rate that day
        ("JPY", "2025-04-18"),  # Good Friday
        ("USD", "2025-06-04"),  # an ordinary Wednesday
    ],
)
def test_rate_on_date(anon, db, currency, requested):
    on = dt.date.fromisoformat(requested)
    date, rate = expected_rate(currency.upper(), on)
    response = anon.get(URL, {"currency": currency, "date": requested})
    assert response.status_code == 200
    assert response.json() == {
        "currency": currency.upper(),
        "requested_date": requested,
        "date": date.isoformat(),
        "rate": f"{rate:.6f}",
    }
    if on.weekday() >= 5:
        assert date < on


def test_gbp_weekend_example_of_the_spec(anon, db):
    body = anon.get(URL, {"currency": "GBP", "date": "2025-06-07"}).json()
    assert body["date"] == "2025-06-06"
    assert Decimal(body["rate"]) == ecb_rates()["GBP"][dt.date(2025, 6, 6)]


def test_euro_is_one(anon, db):
    body = anon.get(URL, {"currency": "eur", "date": "2025-06-07"}).json()
    assert body == {
        "currency": "EUR",
        "requested_date": "2025-06-07",
        "date": "2025-06-07",
        "rate": "1.000000",
    }


@pytest.mark.parametrize(("currency", "requested"), [("RUB", "2023-01-10"), ("UAH", "2025-06-04")])
def test_no_rate_within_seven_days_is_404(anon, db, currency, requested):
    assert expected_rate(currency, dt.date.fromisoformat(requested)) is None
    response = anon.get(URL, {"currency": currency, "date": requested})
    assert response.status_code == 404
    assert currency in response.json()["detail"]


def test_list_filtered_by_currency(anon, db):
    start, end = dt.date(2025, 5, 1), dt.date(2025, 6, 30)
    expected = sorted(
        (
            (day.isoformat(), rate)
            for day, rate in ecb_rates()["GBP"].items()
            if start <= day <= end
        ),
        reverse=True,
    )
    response = anon.get(
        URL,
        {"currency": "gbp", "date_from": "2025-05-01", "date_to": "2025-06-30", "page_size": 100},
    )
    body = response.json()
    assert body["count"] == len(expected) > 30
    assert [(r["date"], Decimal(r["rate"])) for r in body["results"]] == expected
    assert {r["currency"] for r in body["results"]} == {"GBP"}


def test_list_is_paginated(anon, full_ecb_history):
    body = anon.get(URL, {"currency": "USD"}).json()
    assert body["count"] == len(ecb_rates()["USD"])
    assert len(body["results"]) == 50
    assert body["next"] is not None
