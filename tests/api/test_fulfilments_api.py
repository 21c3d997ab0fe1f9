"""/api/v1/fulfilments/: records of allocations and deliveries, written with If-Match, and what
they make of their pledge's representation (delivered_amount, delivery, status, ETag)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pledges.models import Fulfilment, FulfilmentItem, FulfilmentSource, Pledge
from tests.factories import CountryFactory, PledgeFactory, PledgeItemFactory, add_record

URL = "/api/v1/fulfilments/"
PLEDGES = "/api/v1/pledges/"
SOURCE = {
    "url": "https://www.gov.uk/government/news/deliveries",
    "publisher": "UK Ministry of Defence",
    "title": "First drones delivered",
    "published_on": "2025-07-02",
    "kind": "official",
}


@pytest.fixture
def pledge(refs):
    pledge = PledgeFactory(
        donor=refs["donor"],
        category=refs["category"],
        amount=Decimal("350000000.00"),
        currency="GBP",
        status="committed",
    )
    PledgeItemFactory(pledge=pledge, name="drone", quantity=100000)
    return pledge


def body(target, /, **changes):
    data = {
        "pledge": target.pk,
        "kind": "delivered",
        "date": "2025-07-01",
        "amount": "100000000.00",
        "items": [{"item": target.items.get().pk, "quantity": 30000}],
        "note": "First batch",
        "sources": [SOURCE],
    }
    data.update(changes)
    return data


def state():
    """What the database holds of records and pledges, to compare before and after."""
    return (
        list(Fulfilment.objects.values().order_by("id")),
        list(FulfilmentItem.objects.values().order_by("id")),
        list(FulfilmentSource.objects.values().order_by("id")),
        list(Pledge.objects.values().order_by("id")),
    )


def test_a_delivery_record_and_what_its_pledge_shows(editor, anon, pledge):
    before = anon.get(f"{PLEDGES}{pledge.pk}/")
    assert before["ETag"] == '"1"'
    assert (before.json()["delivered_amount"], before.json()["delivery"]) == ("0.00", "none")

    response = editor.post(URL, body(pledge), format="json")
    assert response.status_code == 201, response.data
    record = response.json()
    assert response["ETag"] == '"1"'
    assert record["pledge"] == pledge.pk
    assert (record["kind"], record["date"], record["amount"]) == (
        "delivered",
        "2025-07-01",
        "100000000.00",
    )
    assert record["items"] == [{"item": pledge.items.get().pk, "quantity": 30000}]
    assert record["sources"][0]["publisher"] == "UK Ministry of Defence"
    assert (record["version"], record["note"]) == (1, "First batch")

    after = anon.get(f"{PLEDGES}{pledge.pk}/")
    shown = after.json()
    assert after["ETag"] == '"2"'  # what it shows changed: a new version
    assert shown["allocated_amount"] == shown["delivered_amount"] == "100000000.00"
    assert (shown["delivery"], shown["undated"], shown["status"]) == ("partial", False, "committed")
    assert shown["items"][0]["quantity_delivered"] == 30000


def test_the_last_delivery_makes_the_pledge_delivered(editor, anon, pledge):
    editor.post(URL, body(pledge), format="json")
    rest = body(pledge, date="2025-09-01", amount="250000000.00", items=[])
    assert editor.post(URL, rest, format="json").status_code == 201
    shown = anon.get(f"{PLEDGES}{pledge.pk}/").json()
    assert (shown["delivered_amount"], shown["delivery"]) == ("350000000.00", "full")
    assert (shown["status"], shown["version"]) == ("delivered", 3)
    history = editor.get(f"{PLEDGES}{pledge.pk}/history/").json()["results"]
    assert history[0]["reason"] == "Status follows the records: delivered in full"
    assert {"field": "status", "old": "committed", "new": "delivered"} in history[0]["changes"]


def test_list_filters_and_reads_are_public(editor, anon, pledge, refs):
    other = PledgeFactory(donor=refs["donor"], category=refs["category"], amount=Decimal(100))
    first = add_record(pledge, amount=Decimal("1.00"), date=dt.date(2025, 7, 1))
    second = add_record(pledge, kind="allocated", amount=Decimal("2.00"), date=dt.date(2025, 8, 1))
    third = add_record(other, amount=Decimal("3.00"), date=dt.date(2025, 9, 1))

    def ids(**params):
        response = anon.get(URL, params)
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [first.pk, second.pk, third.pk]  # by date
    assert ids(pledge=pledge.pk) == [first.pk, second.pk]
    assert ids(pledge=[pledge.pk, other.pk], kind="delivered") == [first.pk, third.pk]
    assert ids(date_from="2025-07-15", date_to="2025-08-31") == [second.pk]
    assert anon.get(f"{URL}{first.pk}/")["ETag"] == '"1"'
    for params, name in (
        ({"pledge": "x"}, "pledge"),
        ({"pledge": 10**6}, "pledge"),
        ({"kind": "promised"}, "kind"),
        ({"date_from": "2025-13-01"}, "date_from"),
    ):
        response = anon.get(URL, params)
        assert response.status_code == 400
        assert name in response.json()


def test_the_list_is_cached_under_the_data_version(editor, anon, pledge):
    first = anon.get(URL)
    again = anon.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    add_record(pledge, amount=Decimal("1.00"))
    changed = anon.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed.json()["count"] == 1


def test_who_may_write(anon, reviewer, nobody, editor, pledge):
    assert anon.post(URL, body(pledge), format="json").status_code == 401
    assert reviewer.post(URL, body(pledge), format="json").status_code == 403
    assert nobody.post(URL, body(pledge), format="json").status_code == 403
    assert not Fulfilment.objects.exists()
    record = add_record(pledge, amount=Decimal("1.00"))
    for client in (reviewer, nobody):
        headers = {"HTTP_IF_MATCH": '"1"'}
        assert client.patch(f"{URL}{record.pk}/", {"note": "x"}, **headers).status_code == 403
        assert client.delete(f"{URL}{record.pk}/", **headers).status_code == 403
    assert reviewer.get(f"{URL}{record.pk}/").status_code == 200


def test_writes_need_the_current_etag(editor, pledge):
    record = editor.post(URL, body(pledge), format="json").json()
    url = f"{URL}{record['id']}/"
    before = state()
    assert editor.patch(url, {"note": "Changed"}, format="json").status_code == 428
    stale = {"HTTP_IF_MATCH": '"7"'}
    assert editor.patch(url, {"note": "Changed"}, format="json", **stale).status_code == 412
    assert editor.put(url, body(pledge, note="Changed"), format="json", **stale).status_code == 412
    assert editor.delete(url, **stale).status_code == 412
    assert editor.delete(url).status_code == 428
    assert state() == before

    response = editor.patch(url, {"note": "Changed"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.data
    assert (response.json()["version"], response["ETag"]) == (2, '"2"')
    assert response.json()["items"] == record["items"]  # PATCH keeps what it does not name
    response = editor.put(url, body(pledge, items=[]), format="json", HTTP_IF_MATCH='W/"2"')
    assert response.status_code == 200, response.data
    assert response.json()["items"] == []  # PUT gives the whole record
    assert editor.delete(url, HTTP_IF_MATCH='"3"').status_code == 204
    assert not Fulfilment.objects.exists()
    shown = Pledge.objects.get(pk=pledge.pk)
    assert (shown.delivered_amount, shown.delivery) == (Decimal(0), "none")


def test_the_history_of_a_record(editor, anon, pledge):
    record = editor.post(URL, body(pledge), format="json").json()
    url = f"{URL}{record['id']}/"
    item = pledge.items.get().pk
    editor.patch(
        url,
        {"amount": "90000000.00", "items": [{"item": item, "quantity": 20000}]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    editor.delete(url, HTTP_IF_MATCH='"2"')
    versions = editor.get(f"{url}history/").json()["results"]
    assert [v["type"] for v in versions] == ["deleted", "changed", "created"]
    assert versions[0]["user"] == "editor"
    changes = {c["field"]: (c["old"], c["new"]) for c in versions[1]["changes"]}
    assert changes == {
        "amount": ("100000000.00", "90000000.00"),
        "items": ([{"item": item, "quantity": 30000}], [{"item": item, "quantity": 20000}]),
    }
    created = {c["field"]: c["new"] for c in versions[2]["changes"]}
    assert (created["pledge"], created["kind"]) == (pledge.pk, "delivered")
    assert created["sources"][0]["publisher"] == "UK Ministry of Defence"
    assert anon.get(f"{url}history/").json()["results"][0]["user"] is None
    assert anon.get(f"{URL}999999/history/").status_code == 404


def bad_inputs(pledge, refs):
    item = pledge.items.get().pk
    same = {"donor": refs["donor"], "category": refs["category"]}
    unvalued = PledgeFactory(**same, amount=None, currency="")
    later = PledgeFactory(**same, reannounces=pledge)
    elsewhere = PledgeItemFactory(pledge=unvalued, name="tank", quantity=2).pk
    return [
        ({"pledge": None}, "pledge"),
        ({"pledge": 10**9}, "pledge"),
        ({"pledge": 3.5}, "pledge"),
        ({"pledge": later.pk}, "pledge"),
        ({"kind": "promised"}, "kind"),
        ({"kind": None}, "kind"),
        ({"date": None}, "date"),
        ({"date": "2025-13-01"}, "date"),
        ({"date": "2999-01-01"}, "date"),
        ({"date": "2025-06-03"}, "date"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "many"}, "amount"),
        ({"amount": "350000000.01"}, "amount"),
        ({"amount": None, "items": []}, "amount"),
        ({"pledge": unvalued.pk, "items": []}, "amount"),
        ({"items": [{"item": 10**9, "quantity": 1}]}, "items"),
        ({"items": [{"item": elsewhere, "quantity": 1}]}, "items"),
        ({"items": [{"item": item, "quantity": 0}]}, "items"),
        ({"items": [{"item": item, "quantity": 100001}]}, "items"),
        ({"items": [{"item": item, "quantity": 1}, {"item": item, "quantity": 1}]}, "items"),
        ({"items": [{"quantity": 1}]}, "items"),
        ({"items": [{"item": "drone", "quantity": 1}]}, "items"),
        ({"items": [{"item": 2**70, "quantity": 1}]}, "items"),
        ({"items": "drone"}, "items"),
        ({"sources": []}, "sources"),
        ({"sources": None}, "sources"),
        ({"sources": [{"url": "ftp://example.org", "publisher": "X"}]}, "sources"),
        ({"sources": [{"url": "", "publisher": "X"}]}, "sources"),
        ({"sources": [{**SOURCE, "published_on": "2999-01-01"}]}, "sources"),
    ]


def test_every_bad_input_is_refused_naming_the_field(editor, pledge, refs):
    for changes, field in bad_inputs(pledge, refs):
        before = state()
        response = editor.post(URL, body(pledge, **changes), format="json")
        assert response.status_code == 400, (changes, response.data)
        assert field in response.json(), (changes, response.json())
        assert state() == before, changes


def test_every_bad_change_is_refused_naming_the_field(editor, pledge, refs):
    record = editor.post(URL, body(pledge), format="json").json()
    url = f"{URL}{record['id']}/"
    for changes, field in bad_inputs(pledge, refs):
        before = state()
        response = editor.patch(url, changes, format="json", HTTP_IF_MATCH='"1"')
        assert response.status_code == 400, (changes, response.data)
        assert field in response.json(), (changes, response.json())
        assert state() == before, changes


def test_item_errors_are_given_by_row(editor, pledge):
    item = pledge.items.get().pk
    items = [{"item": item, "quantity": 1}, {"item": item, "quantity": 2}]
    response = editor.post(URL, body(pledge, items=items), format="json")
    assert response.json()["items"] == {
        "1": {"item": ["This item is already in row 1: give it once, with the whole quantity."]}
    }


def test_pledge_items_keep_their_identity(editor, pledge):
    item = pledge.items.get()
    add_record(pledge, amount=Decimal("1.00"), items=[(item, 10)])
    url = f"{PLEDGES}{pledge.pk}/"
    shown = editor.get(url).json()
    assert shown["items"] == [
        {"id": item.pk, "name": "drone", "quantity": 100000, "quantity_delivered": 10}
    ]
    # Without its id the item would be removed: refused, naming it.
    before = state()
    response = editor.patch(url, {"items": [{"name": "drone", "quantity": 5}]}, format="json")
    assert response.status_code == 400
    assert f"(id {item.pk})" in response.json()["items"][0]
    response = editor.patch(url, {"items": []}, format="json")
    assert response.status_code == 400
    response = editor.patch(
        url, {"items": [{"id": item.pk, "name": "drone", "quantity": 9}]}, format="json"
    )
    held = ["Records hold 10 of this item: it cannot be less."]
    assert response.json()["items"] == {"0": {"quantity": held}}
    response = editor.patch(url, {"currency": "EUR"}, format="json")
    assert "currency" in response.json()
    assert state() == before
    # With it, changed in place; a new one beside it.
    items = [{"id": item.pk, "name": "FPV drone", "quantity": 90000}, {"name": "radar"}]
    data = dict(shown, items=items, donor=shown["donor"]["id"], category=shown["category"]["id"])
    response = editor.put(url, data, format="json", HTTP_IF_MATCH=f'"{shown["version"]}"')
    assert response.status_code == 200, response.data
    answered = response.json()["items"]
    assert [(i["id"] == item.pk, i["name"], i["quantity_delivered"]) for i in answered] == [
        (True, "FPV drone", 10),
        (False, "radar", 0),
    ]


def test_list_queries_do_not_grow(anon, pledge):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = anon.get(URL, {"page_size": 1000})
        assert response.status_code == 200
        return len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]), response

    item = pledge.items.get()
    add_record(pledge, amount=Decimal("1.00"), items=[(item, 1)])
    one, _ = queries()
    for day in range(2, 22):
        add_record(pledge, amount=Decimal("1.00"), items=[(item, 1)], date=dt.date(2025, 7, day))
    many, response = queries()
    assert response.json()["count"] == 21
    # data version, count, page, items, sources
    assert one == many == 5


def test_the_records_export(anon, editor, pledge, refs, settings):
    import csv
    import io

    other = PledgeFactory(
        donor=CountryFactory(name="Norway"), category=refs["category"], amount=Decimal(100)
    )
    add_record(pledge, amount=Decimal("1.00"))
    add_record(pledge, amount=Decimal("2.00"), date=dt.date(2025, 8, 1))
    add_record(other, amount=Decimal("3.00"))
    response = anon.get("/api/v1/exports/fulfilments.csv", {"donor": refs["donor"].pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["pledge_ref"], r["amount"], r["currency"]) for r in rows] == [
        (f"pledge-{pledge.pk}", "1.00", "GBP"),
        (f"pledge-{pledge.pk}", "2.00", "GBP"),
    ]
    assert anon.get("/api/v1/exports/fulfilments.csv", {"donor": "x"}).status_code == 400
    settings.API_ANON_EXPORT_MAX_ROWS = 2
    assert anon.get("/api/v1/exports/fulfilments.csv").status_code == 401
    assert editor.get("/api/v1/exports/fulfilments.csv").status_code == 200
    root = anon.get("/api/v1/").json()
    assert root["fulfilments"].endswith("/api/v1/fulfilments/")
    assert root["exports/fulfilments.csv"].endswith("/api/v1/exports/fulfilments.csv")


def test_the_seeds_delivered_shells_are_undated(anon, reference_data):
    """ "Additionally, 140,000 artillery shells have already been delivered": delivered, with
    no date of delivery nor record, so counted as delivered in full (undated)."""
    shells = Pledge.objects.get(external_ref="udcg-2025-06-gb-shells")
    shown = anon.get(f"{PLEDGES}{shells.pk}/").json()
    assert (shown["status"], shown["amount"], shown["delivered_amount"]) == (
        "delivered",
        None,
        None,
    )
    assert (shown["delivery"], shown["undated"]) == ("full", True)
    assert [(i["name"], i["quantity"]) for i in shown["items"]] == [("artillery shell", 140000)]
    # The seed states no record: none is invented.
    assert anon.get(URL).json()["count"] == 0


def test_the_german_confirmation_takes_no_records(editor, reference_data):
    confirmation = Pledge.objects.get(external_ref="udcg-2025-06-de-package")
    assert confirmation.reannounces.external_ref == "de-2025-05-28-package"
    data = {
        "pledge": confirmation.pk,
        "kind": "allocated",
        "date": "2025-07-01",
        "amount": "1000000.00",
        "sources": [SOURCE],
    }
    response = editor.post(URL, data, format="json")
    assert response.status_code == 400
    assert "re-announces" in response.json()["pledge"][0]
    response = editor.post(URL, {**data, "pledge": confirmation.reannounces_id}, format="json")
    assert response.status_code == 201, response.data
