"""A client's text never becomes a format string. ``?currency=%`` used to answer 500
("not enough arguments for format string"): every entry point that quotes a value back is
tried with format directives, and each answers a 400 that names the parameter and quotes the
text as it was sent."""

import pytest

from pledges.models import Donor
from tests.api.test_bad_input import state

# %-directives (with and without a mapping key) and str.format fields.
FORMAT_TEXTS = ["%", "%s", "%(value)s", "%d%%", "{}", "{0}", "{value}", "%(kind)s{0}"]

# (url, parameter named in the 400)
ENTRY_POINTS = [
    ("/api/v1/pledges/?currency={}", "currency"),
    ("/api/v1/pledges/?recipient={}", "recipient"),
    ("/api/v1/pledges/?status={}", "status"),
    ("/api/v1/pledges/?category={}", "category"),
    ("/api/v1/pledges/?donor={}", "donor"),
    ("/api/v1/pledges/?event={}", "event"),
    ("/api/v1/pledges/?date_from={}", "date_from"),
    ("/api/v1/pledges/?ordering={}", "ordering"),
    ("/api/v1/pledges/?page_size={}", "page_size"),
    ("/api/v1/exports/pledges.csv?currency={}", "currency"),
    ("/api/v1/exports/pledges.csv?recipient={}", "recipient"),
    ("/api/v1/exchange-rates/?currency={}", "currency"),
    ("/api/v1/exchange-rates/?currency={}&date=2025-06-04", "currency"),
    ("/api/v1/exchange-rates/?currency=GBP&date={}", "date"),
    ("/api/v1/reports/totals/?currency={}", "currency"),
    ("/api/v1/reports/totals/?pledge_currency={}", "pledge_currency"),
    ("/api/v1/reports/totals/?recipient={}", "recipient"),
    ("/api/v1/reports/totals/?group_by={}", "group_by"),
    ("/api/v1/reports/totals/?allocation={}", "allocation"),
    ("/api/v1/reports/totals/?format={}", "format"),
]


def quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "name"), ENTRY_POINTS)
def test_query_parameters(anon, url, name):
    for text in FORMAT_TEXTS:
        response = anon.get(url.format(quoted(text)))
        assert response.status_code == 400, (text, response.content)
        assert list(response.json()) == [name]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/pledges/?currency={}",
        "/api/v1/exchange-rates/?currency={}",
        "/api/v1/exports/pledges.csv?currency={}",
    ],
)
def test_the_message_quotes_the_text_as_sent(anon, url):
    response = anon.get(url.format(quoted("%(x)s")))
    assert response.json() == {"currency": ["%(X)S is not an ISO 4217 currency code."]}


@pytest.mark.django_db
def test_the_country_message_quotes_the_text_as_sent(anon):
    response = anon.get("/api/v1/pledges/?recipient=%25s")
    assert response.json() == {"recipient": ["%S is not an ISO 3166-1 alpha-2 country code."]}


@pytest.mark.parametrize("field", ["currency", "recipient", "status", "amount", "announced_on"])
def test_pledge_fields_on_create(editor, payload, field):
    before = state()
    for text in FORMAT_TEXTS:
        response = editor.post("/api/v1/pledges/", payload(**{field: text}), format="json")
        assert response.status_code == 400, (text, response.content)
        assert list(response.json()) == [field]
    assert state() == before


def test_nested_rows_on_create(editor, payload):
    before = state()
    for text in FORMAT_TEXTS:
        source = {"url": text, "publisher": "x", "published_on": text}
        data = payload(sources=[source], items=[{"name": "x", "quantity": text}])
        response = editor.post("/api/v1/pledges/", data, format="json")
        assert response.status_code == 400, (text, response.content)
        body = response.json()
        assert set(body["sources"]["0"]) == {"url", "published_on"}
        assert set(body["items"]["0"]) == {"quantity"}
    assert state() == before


def test_donor_code_on_create(editor):
    for text in FORMAT_TEXTS:
        response = editor.post("/api/v1/donors/", {"name": "X", "iso2": text}, format="json")
        assert response.status_code == 400, (text, response.content)
        assert list(response.json()) == ["iso2"]
    assert not Donor.objects.filter(name="X").exists()
