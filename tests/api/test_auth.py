"""Public reads, writes with the model permission (401/403), reviewers, throttling."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from pledges.models import Category, Pledge
from tests.factories import PledgeFactory

from .conftest import client_for

URL = "/api/v1/pledges/"


@pytest.fixture
def pledge(db):
    return PledgeFactory(status="announced")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_anonymous_writes_get_401(anon, pledge, method):
    url = URL if method == "post" else f"{URL}{pledge.pk}/"
    response = getattr(anon, method)(url, {"title": "x"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    pledge.refresh_from_db()
    assert pledge.version == 1
    assert Pledge.objects.count() == 1


def test_bad_token_gets_401(pledge):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_without_permission_get_403(nobody, pledge, method):
    url = URL if method == "post" else f"{URL}{pledge.pk}/"
    response = getattr(nobody, method)(url, {"title": "x"}, format="json")
    assert response.status_code == 403
    pledge.refresh_from_db()
    assert pledge.version == 1


def test_category_write_needs_permission(anon, nobody, editor):
    data = {"slug": "air", "name": "Air"}
    assert anon.post("/api/v1/categories/", data, format="json").status_code == 401
    assert nobody.post("/api/v1/categories/", data, format="json").status_code == 403
    assert not Category.objects.filter(slug="air").exists()
    assert editor.post("/api/v1/categories/", data, format="json").status_code == 201


def test_session_login_works_for_the_browsable_api(pledge):
    user = User.objects.create_superuser("admin", password="pw-for-test")
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(user)
    response = client.patch(f"{URL}{pledge.pk}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 200
    assert client.get(URL, HTTP_ACCEPT="text/html").status_code == 200


def test_reviewer_may_patch_only_status(reviewer, pledge):
    response = reviewer.patch(f"{URL}{pledge.pk}/", {"status": "committed"}, format="json")
    assert response.status_code == 200, response.data
    pledge.refresh_from_db()
    assert pledge.status == "committed"
    assert pledge.version == 2

    title = pledge.title
    response = reviewer.patch(
        f"{URL}{pledge.pk}/", {"status": "delivered", "title": "x", "amount": "1"}, format="json"
    )
    assert response.status_code == 403
    assert "amount" in response.json()["detail"]
    assert "title" in response.json()["detail"]
    pledge.refresh_from_db()
    assert (pledge.status, pledge.title, pledge.version) == ("committed", title, 2)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_reviewer_may_not_otherwise_write(reviewer, pledge, method):
    url = URL if method == "post" else f"{URL}{pledge.pk}/"
    response = getattr(reviewer, method)(url, {"status": "committed"}, format="json")
    assert response.status_code == 403
    assert Pledge.objects.get().version == 1


def test_reviewer_status_is_still_validated(reviewer, pledge):
    response = reviewer.patch(f"{URL}{pledge.pk}/", {"status": "lost"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()


def test_reads_can_require_login(settings, anon, nobody, pledge):
    settings.API_READS_REQUIRE_LOGIN = True
    response = anon.get(URL)
    assert response.status_code == 401
    assert anon.get(f"{URL}{pledge.pk}/").status_code == 401
    assert anon.get("/api/v1/donors/").status_code == 401
    assert nobody.get(URL).status_code == 200
    settings.API_READS_REQUIRE_LOGIN = False
    assert anon.get(URL).status_code == 200


def test_anonymous_requests_are_throttled(settings, anon, editor, db):
    settings.API_ANON_THROTTLE_RATE = "3/minute"
    assert [anon.get(URL).status_code for _ in range(4)] == [200, 200, 200, 429]
    response = anon.get("/api/v1/donors/")
    assert response.status_code == 429
    assert "Retry-After" in response
    # Another client address has its own allowance; authenticated users are not throttled.
    assert anon.get(URL, REMOTE_ADDR="10.0.0.9").status_code == 200
    assert [editor.get(URL).status_code for _ in range(5)] == [200] * 5


def test_forwarded_for_does_not_escape_the_throttle(settings, anon, db):
    settings.API_ANON_THROTTLE_RATE = "2/minute"
    codes = [anon.get(URL, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(3)]
    assert codes == [200, 200, 429]


def test_token_from_command(db, capsys):
    from django.core.management import call_command

    User.objects.create_user("alice")
    call_command("drf_create_token", "alice")
    key = capsys.readouterr().out.split()[2]
    user = User.objects.get(username="alice")
    assert user.auth_token.key == key
    assert client_for(user).get(URL).status_code == 200
