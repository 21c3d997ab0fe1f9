"""OpenAPI schema and Swagger UI, offline."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi: 3")


@pytest.fixture
def schema(anon, db):
    response = anon.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def parameters(schema, path, method="get"):
    return {p["name"] for p in schema["paths"][path][method].get("parameters", [])}


def test_every_endpoint_and_parameter_is_described(schema):
    paths = schema["paths"]
    for resource in ("donors", "categories", "events", "pledges"):
        assert set(paths[f"/api/v1/{resource}/"]) == {"get", "post"}
        assert set(paths[f"/api/v1/{resource}/{{id}}/"]) == {"get", "put", "patch", "delete"}
    assert set(paths["/api/v1/pledges/{id}/history/"]) == {"get"}
    assert parameters(schema, "/api/v1/pledges/") == {
        "donor",
        "category",
        "event",
        "status",
        "confidence",
        "delivery",
        "reannouncement",
        "currency",
        "recipient",
        "date_from",
        "date_to",
        "search",
        "ordering",
        "page",
        "page_size",
    }
    assert {"currency", "date", "date_from", "date_to", "page", "page_size"} <= parameters(
        schema, "/api/v1/exchange-rates/"
    )
    assert "If-Match" in parameters(schema, "/api/v1/pledges/{id}/", "put")
    responses = paths["/api/v1/pledges/{id}/"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404", "412", "413", "415", "429"} <= set(responses)
    assert "409" in paths["/api/v1/pledges/{id}/"]["delete"]["responses"]


def test_ids_on_write_objects_on_read(schema):
    components = schema["components"]["schemas"]
    assert components["PledgeRequest"]["properties"]["donor"]["type"] == "integer"
    assert components["Pledge"]["properties"]["donor"]["$ref"].endswith("/DonorBrief")
    for field in ("total_amount", "value_eur", "rate_date", "version", "created_at"):
        assert components["Pledge"]["properties"][field]["readOnly"] is True
        assert field not in components["PledgeRequest"]["properties"]
    amount = components["Pledge"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["format"] == "decimal"


def test_swagger_ui_is_served_without_a_cdn(anon, db):
    response = anon.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    # The start-up script is a file of its own (the Content-Security-Policy allows no inline
    # script); it loads the schema from this site.
    script = next(a for a in assets if a.startswith("/api/v1/docs/?script"))
    assert "/api/v1/schema/" in anon.get(script).content.decode()
    assert "<script>" not in html and "<style>" not in html
    bundle = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    assert finders.find(bundle.removeprefix("/static/"))
