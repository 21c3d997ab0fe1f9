"""The API root lists every entry point; a pledge without a value in euros says why."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from pledges.models import ExchangeRate, Pledge
from tests.factories import PledgeFactory

URL = "/api/v1/pledges/"


def test_the_root_lists_resources_reports_exports_and_docs(anon, db):
    response = anon.get("/api/v1/")
    assert response.status_code == 200
    links = response.json()
    for key in ("donors", "categories", "events", "pledges", "fulfilments", "exchange-rates"):
        assert links[key] == f"http://testserver/api/v1/{key}/"
    assert links["reports/totals"] == "http://testserver/api/v1/reports/totals/"
    for name in ("pledges", "fulfilments"):
        url = f"http://testserver/api/v1/exports/{name}.csv"
        assert links[f"exports/{name}.csv"] == url
    assert links["schema"] == "http://testserver/api/v1/schema/"
    assert links["docs"] == "http://testserver/api/v1/docs/"
    for url in links.values():  # every link answers
        assert anon.get(url.removeprefix("http://testserver")).status_code == 200, url


def written(editor, payload, **changes) -> dict:
    response = editor.post(URL, payload(**changes), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_currency_without_ecb_rates_says_why_it_has_no_value(editor, anon, payload):
    body = written(editor, payload, currency="uah", amount="1000000")
    assert body["value_eur"] is None
    note = "The ECB publishes no euro reference rate for UAH, so the amount is not converted."
    assert body["value_eur_note"] == note
    # The same on every read: detail and list.
    assert anon.get(f"{URL}{body['id']}/").json()["value_eur_note"] == note
    assert anon.get(URL).json()["results"][0]["value_eur_note"] == note


def test_no_rate_within_seven_days_says_so(editor, payload):
    # The ECB stopped publishing RUB rates on 2022-03-01.
    body = written(editor, payload, currency="RUB", amount="1000000", announced_on="2022-06-01")
    assert body["value_eur"] is None
    assert body["value_eur_note"] == (
        "The ECB published no RUB rate on 2022-06-01 or in the 7 days before it, so the amount "
        "is not converted."
    )


def test_no_amount_says_so_and_a_value_has_no_note(editor, payload):
    in_kind = written(editor, payload, amount=None, currency="")
    assert in_kind["value_eur"] is None
    assert in_kind["value_eur_note"] == (
        "No amount is stated (a pledge in kind), so there is no value in euros."
    )
    valued = written(editor, payload, title="valued")
    assert Decimal(valued["value_eur"]) > 0
    assert valued["value_eur_note"] is None


def test_the_note_is_read_only(editor, payload):
    body = written(editor, payload, currency="UAH", value_eur_note="mine")
    assert body["value_eur_note"].startswith("The ECB publishes no euro reference rate for UAH")
    assert not hasattr(Pledge.objects.get(pk=body["id"]), "value_eur_note")


def test_the_note_is_in_the_schema(anon, db):
    schema = anon.get("/api/v1/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["Pledge"]["properties"]["value_eur_note"]
    assert field["readOnly"] is True
    assert field["nullable"] is True
    assert "UAH" in field["description"]


def test_a_page_asks_once_per_currency_whatever_its_size(anon, refs):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            body = anon.get(URL, {"page_size": 1000}).json()
        assert all(row["value_eur_note"] for row in body["results"])
        return len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]])

    def make(n: int) -> None:
        for currency in ("UAH", "RUB"):
            for _ in range(n):
                PledgeFactory(
                    donor=refs["donor"],
                    category=refs["category"],
                    currency=currency,
                    amount=Decimal(5),
                    announced_on=dt.date(2024, 1, 10),
                )

    make(1)
    few = count()
    make(20)
    assert count() == few


def test_the_note_follows_the_rates_from_one_request_to_the_next(editor, anon, payload):
    """Each request looks the rates up again: the look-ups of one list are kept for that list
    only (the serializers' read plans are shared between requests, the serializer is not)."""
    body = written(editor, payload, currency="UAH", amount="5", announced_on="2025-06-04")
    assert (
        anon.get(URL)
        .json()["results"][0]["value_eur_note"]
        .startswith("The ECB publishes no euro reference rate for UAH")
    )
    ExchangeRate.objects.create(currency="UAH", date=dt.date(2020, 1, 2), rate=Decimal("30"))
    assert anon.get(URL).json()["results"][0]["value_eur_note"] == (
        "The ECB published no UAH rate on 2025-06-04 or in the 7 days before it, so the amount "
        "is not converted."
    )
    assert body["id"] == anon.get(URL).json()["results"][0]["id"]
