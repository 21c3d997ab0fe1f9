"""Bad input through the API: every bad input gets a 4xx naming the field or parameter, and
nothing is written."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from pledges.models import Pledge, PledgeItem, Source
from tests.factories import PledgeFactory

URL = "/api/v1/pledges/"
TOMORROW = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
SOURCE = {"url": "https://example.org/a", "publisher": "Example"}


def state() -> tuple:
    """Everything a refused write must leave as it was."""
    return (
        Pledge.objects.count(),
        PledgeItem.objects.count(),
        Source.objects.count(),
        Pledge.history.count(),
        PledgeItem.history.count(),
        Source.history.count(),
        tuple(Pledge.objects.order_by("pk").values_list("pk", "version", "amount", "status")),
    )


@pytest.fixture
def package(refs):
    """A €1,000 package with a €600 component, by the payload's donor."""
    package = PledgeFactory(donor=refs["donor"], amount=1000, currency="EUR", title="Package")
    component = PledgeFactory(
        donor=refs["donor"], amount=600, currency="EUR", parent=package, title="Component"
    )
    return package, component


def without(data: dict, key: str) -> dict:
    data = dict(data)
    del data[key]
    return data


# (case id, changes to a valid payload, field named in the answer, key inside a row for lists)
CREATE_CASES = [
    ("amount-text", {"amount": "abc"}, "amount", None),
    ("amount-zero", {"amount": "0"}, "amount", None),
    ("amount-negative", {"amount": "-5"}, "amount", None),
    ("amount-nan", {"amount": "NaN"}, "amount", None),
    ("amount-infinity", {"amount": "Infinity"}, "amount", None),
    ("amount-minus-infinity", {"amount": "-Infinity"}, "amount", None),
    ("amount-1e20-string", {"amount": "1e20"}, "amount", None),
    ("amount-1e20-number", {"amount": 1e20}, "amount", None),
    ("amount-16-digits", {"amount": "1000000000000000"}, "amount", None),
    ("amount-3-decimals", {"amount": "1.234"}, "amount", None),
    ("amount-object", {"amount": {"value": 1}}, "amount", None),
    ("currency-unknown", {"currency": "ZZZ"}, "currency", None),
    ("currency-short", {"currency": "zz"}, "currency", None),
    ("currency-long", {"currency": "gbpx"}, "currency", None),
    ("currency-missing-with-amount", {"currency": ""}, "currency", None),
    ("date-malformed", {"announced_on": "2025-13-45"}, "announced_on", None),
    ("date-words", {"announced_on": "yesterday"}, "announced_on", None),
    ("date-future", {"announced_on": TOMORROW}, "announced_on", None),
    ("date-missing", {"announced_on": None}, "announced_on", None),
    (
        "period-end-before-start",
        {"amount_basis": "per_year", "period_start_year": 2029, "period_end_year": 2025},
        "period_end_year",
        None,
    ),
    ("per-year-without-period", {"amount_basis": "per_year"}, "period_start_year", None),
    (
        "period-too-long",
        {"amount_basis": "per_year", "period_start_year": 2025, "period_end_year": 2060},
        "period_end_year",
        None,
    ),
    (
        "period-year-out-of-range",
        {"amount_basis": "per_year", "period_start_year": 1999, "period_end_year": 2001},
        "period_start_year",
        None,
    ),
    (
        "period-with-total-basis",
        {"period_start_year": 2025, "period_end_year": 2026},
        "amount_basis",
        None,
    ),
    ("basis-unknown", {"amount_basis": "weekly"}, "amount_basis", None),
    ("status-unknown", {"status": "lost"}, "status", None),
    ("recipient-unknown", {"recipient": "XX"}, "recipient", None),
    ("donor-unknown", {"donor": 999999}, "donor", None),
    ("donor-text", {"donor": "abc"}, "donor", None),
    ("donor-huge", {"donor": 10**30}, "donor", None),
    ("donor-true", {"donor": True}, "donor", None),
    ("donor-object", {"donor": {"id": 1}}, "donor", None),
    ("donor-missing", {"donor": None}, "donor", None),
    ("category-unknown", {"category": 999999}, "category", None),
    ("event-unknown", {"event": 999999}, "event", None),
    ("parent-unknown", {"parent": 999999}, "parent", None),
    ("title-empty", {"title": ""}, "title", None),
    ("title-too-long", {"title": "x" * 201}, "title", None),
    ("title-nul", {"title": "a\x00b"}, "title", None),
    ("no-source", {"sources": []}, "sources", None),
    ("sources-not-a-list", {"sources": "https://example.org"}, "sources", None),
    ("source-ftp", {"sources": [{**SOURCE, "url": "ftp://example.org/a"}]}, "sources", "url"),
    (
        "source-javascript",
        {"sources": [{**SOURCE, "url": "javascript:alert(1)"}]},
        "sources",
        "url",
    ),
    (
        "source-url-too-long",
        {"sources": [{**SOURCE, "url": "https://e.org/" + "a" * 1000}]},
        "sources",
        "url",
    ),
    ("source-without-publisher", {"sources": [{"url": "https://e.org/"}]}, "sources", "publisher"),
    (
        "source-published-in-future",
        {"sources": [SOURCE, {**SOURCE, "published_on": TOMORROW}]},
        "sources",
        "published_on",
    ),
    ("item-quantity-zero", {"items": [{"name": "drone", "quantity": 0}]}, "items", "quantity"),
    ("item-quantity-negative", {"items": [{"name": "drone", "quantity": -1}]}, "items", "quantity"),
    ("item-without-name", {"items": [{"quantity": 3}]}, "items", "name"),
]


@pytest.mark.parametrize(
    ("changes", "field", "row_key"),
    [case[1:] for case in CREATE_CASES],
    ids=[case[0] for case in CREATE_CASES],
)
def test_bad_pledge_is_refused(editor, payload, changes, field, row_key):
    before = state()
    data = payload(**changes)
    data = {key: value for key, value in data.items() if value is not None or key == "amount"}
    response = editor.post(URL, data, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    if row_key is not None:
        # Bad rows by index, as DRF reports nested lists.
        assert any(row_key in row for row in body[field].values()), body
    assert state() == before


def test_fractional_id_is_not_truncated(editor, payload, refs):
    before = state()
    response = editor.post(URL, payload(donor=refs["donor"].pk + 0.5), format="json")
    assert response.status_code == 400
    assert "donor" in response.json()
    assert state() == before


def test_missing_sources_key(editor, payload):
    before = state()
    response = editor.post(URL, without(payload(), "sources"), format="json")
    assert response.status_code == 400
    assert "sources" in response.json()
    assert state() == before


def test_all_bad_fields_are_named_at_once(editor, payload):
    data = payload(amount="-1", currency="ZZZ", donor=999999, sources=[{"url": "ftp://x"}])
    body = editor.post(URL, data, format="json").json()
    assert {"amount", "donor"} <= set(body)


def test_service_errors_named_together(editor, payload):
    """Rules of the model and the service come back together, with per-row source errors."""
    data = payload(
        announced_on=TOMORROW,
        currency="ZZZ",
        sources=[SOURCE, {**SOURCE, "url": "ftp://example.org"}],
    )
    body = editor.post(URL, data, format="json").json()
    assert {"announced_on", "currency", "sources"} <= set(body)
    assert list(body["sources"]) == ["1"]
    assert "url" in body["sources"]["1"]


def test_duplicate_external_ref(editor, payload):
    assert editor.post(URL, payload(external_ref="gb-1"), format="json").status_code == 201
    before = state()
    response = editor.post(URL, payload(external_ref="gb-1"), format="json")
    assert response.status_code == 400
    assert "external_ref" in response.json()
    assert state() == before
    # An empty reference is none, and may repeat.
    for _ in range(2):
        response = editor.post(URL, payload(external_ref=""), format="json")
        assert response.status_code == 201
        assert response.json()["external_ref"] is None


def test_component_of_a_component(editor, payload, package):
    _, component = package
    before = state()
    response = editor.post(
        URL, payload(amount="1", currency="EUR", parent=component.pk), format="json"
    )
    assert response.status_code == 400
    assert "parent" in response.json()
    assert state() == before


def test_components_worth_more_than_package(editor, payload, package):
    parent, _ = package
    before = state()
    response = editor.post(
        URL, payload(amount="500", currency="EUR", parent=parent.pk), format="json"
    )
    assert response.status_code == 400
    assert "amount" in response.json()
    assert state() == before
    ok = editor.post(URL, payload(amount="400", currency="EUR", parent=parent.pk), format="json")
    assert ok.status_code == 201, ok.content


PATCH_CASES = [
    ("amount-nan", lambda p, c: {"amount": "NaN"}, "amount"),
    ("no-source", lambda p, c: {"sources": []}, "sources"),
    ("own-package", lambda p, c: {"parent": p.pk}, "parent"),
    ("package-into-component", lambda p, c: {"parent": c.pk}, "parent"),
    ("component-too-big", lambda p, c: {"amount": "1500"}, "amount"),
    ("package-smaller-than-components", lambda p, c: {"amount": "100"}, "amount"),
    ("future-date", lambda p, c: {"announced_on": TOMORROW}, "announced_on"),
]


@pytest.mark.parametrize(
    ("change", "field"), [c[1:] for c in PATCH_CASES], ids=[c[0] for c in PATCH_CASES]
)
def test_bad_patch_changes_nothing(editor, package, change, field):
    parent, component = package
    target = component if field == "amount" and "1500" in str(change(parent, component)) else parent
    before = state()
    response = editor.patch(f"{URL}{target.pk}/", change(parent, component), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert state() == before


def test_bad_put_changes_nothing(editor, payload, package):
    parent, _ = package
    before = state()
    response = editor.put(f"{URL}{parent.pk}/", payload(amount="Infinity"), format="json")
    assert response.status_code == 400
    assert "amount" in response.json()
    assert state() == before


RAW_CASES = [
    ("malformed-json", b'{"title": ', "application/json", 400),
    ("json-nan-literal", b'{"amount": NaN}', "application/json", 400),
    ("json-infinity-literal", b'{"amount": Infinity}', "application/json", 400),
    ("not-utf8", b'{"title": "\xff\xfe"}', "application/json", 400),
    ("json-list", b"[1, 2]", "application/json", 400),
    ("json-null", b"null", "application/json", 400),
    ("plain-text", b"title=x", "text/plain", 415),
    ("form-encoded", b"title=x", "application/x-www-form-urlencoded", 415),
    ("xml", b"<pledge/>", "application/xml", 415),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES]
)
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_bad_bodies(editor, package, method, body, content_type, status):
    parent, _ = package
    url = URL if method == "post" else f"{URL}{parent.pk}/"
    before = state()
    response = getattr(editor, method)(url, body, content_type=content_type)
    assert response.status_code == status, response.content
    assert "detail" in response.json() or "non_field_errors" in response.json()
    assert state() == before


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_oversized_body_is_413(settings, editor, payload, package, method):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5000
    parent, _ = package
    url = URL if method == "post" else f"{URL}{parent.pk}/"
    data = payload(description="x" * 6000)
    before = state()
    response = getattr(editor, method)(url, json.dumps(data), content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()
    assert state() == before
    # Just under the limit is fine.
    data["description"] = "x" * 3000
    response = getattr(editor, method)(url, json.dumps(data), content_type="application/json")
    assert response.status_code in (200, 201), response.content


def test_oversized_reference_data_is_413(settings, editor):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"slug": "x", "name": "y", "description": "z" * 200})
    response = editor.post("/api/v1/categories/", body, content_type="application/json")
    assert response.status_code == 413


# (query string, expected status, parameter named in the answer)
QUERY_CASES = [
    ("page=abc", 400, "page"),
    ("page=0", 400, "page"),
    ("page=-1", 400, "page"),
    ("page=1.5", 400, "page"),
    ("page=%C2%B2", 400, "page"),
    ("page=99999", 404, "detail"),
    ("page=" + "9" * 5000, 404, "detail"),
    ("page_size=0", 400, "page_size"),
    ("page_size=-1", 400, "page_size"),
    ("page_size=abc", 400, "page_size"),
    ("page_size=%C2%B2", 400, "page_size"),
    ("page_size=" + "9" * 5000, 200, None),
    ("ordering=unknown", 400, "ordering"),
    ("ordering=-title", 400, "ordering"),
    ("ordering=", 200, None),
    ("donor=abc", 400, "donor"),
    ("donor=999999", 400, "donor"),
    ("donor=99999999999999999999999", 400, "donor"),
    ("donor=-1", 400, "donor"),
    ("category=no-such-slug", 400, "category"),
    ("category=%00", 400, "category"),
    ("event=abc", 400, "event"),
    ("event=99999999999999999999999", 400, "event"),
    ("status=lost", 400, "status"),
    ("currency=zz", 400, "currency"),
    ("currency=%00", 400, "currency"),
    ("recipient=XX", 400, "recipient"),
    ("date_from=2025-13-45", 400, "date_from"),
    ("date_to=yesterday", 400, "date_to"),
    ("date_from=99999-01-01", 400, "date_from"),
    ("search=%00", 400, "search"),
    ("search=" + "x" * 10000, 200, None),
    ("search=%25_%5C", 200, None),
    ("unknown=1", 200, None),
    ("%00=1", 400, "\x00"),
    ("donor=%00", 400, "donor"),
    ("ordering=%00", 400, "ordering"),
]


@pytest.mark.parametrize(
    ("query", "status", "named"), QUERY_CASES, ids=[c[0][:40] for c in QUERY_CASES]
)
def test_odd_query_strings_on_pledges(anon, package, query, status, named):
    response = anon.get(f"{URL}?{query}")
    assert response.status_code == status, response.content
    if named:
        assert named in response.json(), response.json()


EXCHANGE_RATE_CASES = [
    ("currency=zz", 400, "currency"),
    ("currency=%00", 400, "currency"),
    ("date=2025-13-45&currency=GBP", 400, "date"),
    ("date=2025-06-07", 400, "currency"),
    ("date=2025-06-07&currency=zzz", 400, "currency"),
    ("date=%00&currency=GBP", 400, "date"),
    ("date_from=abc", 400, "date_from"),
    ("page_size=0", 400, "page_size"),
    ("currency=GBP&date=1900-01-01", 404, "detail"),
    ("currency=GBP&date=9999-12-31", 404, "detail"),
]


@pytest.mark.parametrize(
    ("query", "status", "named"), EXCHANGE_RATE_CASES, ids=[c[0] for c in EXCHANGE_RATE_CASES]
)
def test_odd_query_strings_on_exchange_rates(anon, db, query, status, named):
    response = anon.get(f"/api/v1/exchange-rates/?{query}")
    assert response.status_code == status, response.content
    assert named in response.json()


@pytest.mark.parametrize(
    "path",
    [
        "pledges/abc/",
        "pledges/99999999999999999999999/",
        "pledges/99999999999999999999999/history/",
        "pledges/abc/history/",
        "pledges/0/history/",
        "donors/99999999999999999999999/",
        "events/abc/",
    ],
)
def test_unknown_ids_are_404(anon, db, path):
    assert anon.get(f"/api/v1/{path}").status_code == 404


def test_unknown_id_writes_are_404(editor, payload):
    before = state()
    assert editor.put(f"{URL}999999/", payload(), format="json").status_code == 404
    assert editor.patch(f"{URL}99999999999999999999999/", {}, format="json").status_code == 404
    assert editor.delete(f"{URL}999999/").status_code == 404
    assert state() == before
