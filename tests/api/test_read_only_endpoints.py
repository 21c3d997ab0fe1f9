"""Read-only endpoints answer 405 to every other method, whoever asks; JSON nested too deep
is a 400; the schema and Swagger UI are read like the rest of the API."""

import pytest
from django.contrib.auth.models import User

from pledges.models import Pledge
from tests.factories import PledgeFactory

from .conftest import client_for

READ_ONLY = [
    "/api/v1/reports/totals/",
    "/api/v1/exchange-rates/",
    "/api/v1/exports/pledges.csv",
    "/api/v1/exports/fulfilments.csv",
    "/api/v1/schema/",
    "/api/v1/docs/",
    "/api/v1/",
]
UNSAFE = ["post", "put", "patch", "delete"]


@pytest.fixture
def superuser(db):
    return client_for(User.objects.create_superuser("root", password="not-used"))


@pytest.mark.parametrize("who", ["anon", "nobody", "reviewer", "editor", "superuser"])
def test_every_other_method_is_a_405(who, request, db):
    client = request.getfixturevalue(who)
    pledge = PledgeFactory()
    before = list(Pledge.objects.values())
    history = f"/api/v1/pledges/{pledge.pk}/history/"
    for url in [*READ_ONLY, history]:
        for method in UNSAFE:
            response = getattr(client, method)(url, {"status": "committed"}, format="json")
            assert response.status_code == 405, (who, method, url)
            assert "not allowed" in response.content.decode().lower()
    assert list(Pledge.objects.values()) == before


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_too_deep_is_a_400(depth, editor, payload):
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = editor.post("/api/v1/pledges/", data=body, content_type="application/json")
        assert response.status_code == 400
        assert "nest at most 32 levels" in response.json()["detail"]
    nested = payload(items=[{"name": "drone", "quantity": 1, "x": [[[[[[]]]]]] * 1}])
    nested["sources"][0]["publisher"] = {
        "a": {"b": {"c": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}
    }
    response = editor.post("/api/v1/pledges/", nested, format="json")
    assert response.status_code == 400
    assert Pledge.objects.count() == 0


def test_json_within_the_limit_is_read(editor, payload):
    response = editor.post("/api/v1/pledges/", payload(), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("url", ["/api/v1/schema/", "/api/v1/docs/"])
def test_schema_and_docs_follow_the_login_setting(url, settings, anon, nobody, db):
    assert anon.get(url).status_code == 200
    settings.API_READS_REQUIRE_LOGIN = True
    assert anon.get(url).status_code == 401
    assert nobody.get(url).status_code == 200
