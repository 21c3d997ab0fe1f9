"""The schema states the constraints the API enforces and the status codes each
operation answers, so that a client generated from it knows them (and the fuzzer's valid
requests are accepted). Values drawn from the schema's own patterns pass the API's checks."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.serializers import PledgeSerializer
from api.views import RateQuerySerializer

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anon):
    response = anon.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def query(operation, name):
    return next(p["schema"] for p in operation["parameters"] if p["name"] == name)


def test_every_operation_lists_its_error_codes(schema):
    for path, method, operation in operations(schema):
        codes = {int(code) for code in operation["responses"]}
        if path == "/api/v1/schema/":
            continue
        assert {401, 429} <= codes, (method, path)
        if method != "delete":
            assert 400 in codes or "{id}" in path, (method, path)
        if method in {"post", "put", "patch"}:
            assert {400, 401, 403, 413, 415, 429} <= codes, (method, path)
        if "{id}" in path:
            assert 404 in codes, (method, path)
        if path == "/api/v1/pledges/{id}/" and method != "get":
            assert 412 in codes, method
        if path == "/api/v1/fulfilments/{id}/" and method != "get":
            assert {412, 428} <= codes, method


def test_pages_are_bounded(schema):
    lists = 0
    for _, _, operation in operations(schema):
        names = {p["name"] for p in operation.get("parameters", [])}
        if "page_size" in names:
            lists += 1
            assert query(operation, "page_size") == {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
            }
            assert query(operation, "page") == {"type": "integer", "minimum": 1}
    # donors, categories, events, pledges and records with their histories, exchange rates
    assert lists == 8


def test_codes_and_amounts_have_their_patterns(schema):
    components = schema["components"]["schemas"]
    pledge = components["PledgeRequest"]["properties"]
    assert pledge["currency"]["pattern"] == "^(?:[A-Za-z]{3})?$"  # blank without an amount
    assert pledge["recipient"]["pattern"] == "^[A-Za-z]{2}$"
    assert components["DonorRequest"]["properties"]["iso2"]["pattern"] == "^(?:[A-Za-z]{2})?$"
    assert components["SourceRequest"]["properties"]["url"]["pattern"].startswith("^[Hh]")
    pledges = schema["paths"]["/api/v1/pledges/"]["get"]
    assert query(pledges, "currency")["pattern"] == "^[A-Za-z]{3}$"
    assert query(pledges, "recipient")["pattern"] == "^[A-Za-z]{2}$"
    assert query(pledges, "status")["items"]["enum"] == [
        "announced",
        "cancelled",
        "committed",
        "delivered",
    ]
    report = schema["paths"]["/api/v1/reports/totals/"]["get"]
    assert query(report, "pledge_currency")["pattern"] == "^[A-Za-z]{3}$"
    assert re.fullmatch(query(report, "group_by")["pattern"], "donor,month")
    assert not re.fullmatch(query(report, "group_by")["pattern"], "donor,colour")
    rates = schema["paths"]["/api/v1/exchange-rates/"]["get"]
    assert query(rates, "date")["format"] == "date"


def amount_pattern() -> str:
    from api.schema import POSITIVE_AMOUNT

    return POSITIVE_AMOUNT


@settings(max_examples=300, deadline=None)
@given(st.from_regex(amount_pattern(), fullmatch=True))
def test_every_amount_the_pattern_allows_is_accepted(text):
    field = PledgeSerializer().fields["amount"]
    assert field.run_validation(text) > 0


@pytest.mark.parametrize("text", ["0", "0.00", "-1", "1.234", "1000000000000000"])
def test_amounts_the_pattern_refuses_the_api_refuses(text):
    assert not re.fullmatch(amount_pattern(), text)
    serializer = PledgeSerializer(data={"amount": text}, partial=True)
    assert not serializer.is_valid()
    assert "amount" in serializer.errors


def test_codes_in_any_letter_case():
    query_serializer = RateQuerySerializer(data={"currency": "gbp", "date": "2025-06-07"})
    assert query_serializer.is_valid()
    assert query_serializer.validated_data["currency"] == "GBP"
    assert not RateQuerySerializer(data={"currency": "zzz", "date": "2025-06-07"}).is_valid()
