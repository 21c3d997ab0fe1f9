"""The expensive reads (the CSV export, reports, search) have rates of their own, for
anonymous and signed-in clients alike, counted in the default cache; an anonymous export of
more pledges than API_ANON_EXPORT_MAX_ROWS is refused, not cut short."""

import pytest
from django.core.cache import cache

from pledges.models import Pledge
from tests.factories import PledgeFactory

from .conftest import client_for, user_in

EXPORT = "/api/v1/exports/pledges.csv"
REPORT = "/api/v1/reports/totals/?group_by=donor"
SEARCH = "/api/v1/pledges/?search=drone"

TIMELINE = "/api/v1/reports/timeline/?group_by=donor"

SCOPES = [("export", EXPORT), ("reports", REPORT), ("reports", TIMELINE), ("search", SEARCH)]


@pytest.fixture
def low_rates(settings):
    settings.API_ANON_THROTTLE_RATE = "1000/minute"
    settings.API_SCOPED_THROTTLE_RATES = {
        "export": "2/minute",
        "reports": "2/minute",
        "search": "2/minute",
    }


def codes(client, url, times=3, **extra):
    return [client.get(url, **extra).status_code for _ in range(times)]


@pytest.mark.parametrize(("scope", "url"), SCOPES)
def test_each_scope_is_throttled_for_anonymous_clients(scope, url, low_rates, anon, db):
    assert codes(anon, url) == [200, 200, 429]
    response = anon.get(url)
    assert response.status_code == 429
    assert "Retry-After" in response
    # Counted in the default cache, per address.
    assert len(cache.get(f"throttle_{scope}_address-127.0.0.1")) == 2
    assert codes(anon, url, 1, REMOTE_ADDR="10.0.0.9") == [200]
    # Other reads are not in this scope.
    assert anon.get("/api/v1/donors/").status_code == 200


@pytest.mark.parametrize(("scope", "url"), SCOPES)
def test_each_scope_is_throttled_for_signed_in_users(scope, url, low_rates, editor, db):
    assert codes(editor, url) == [200, 200, 429]
    user_id = Pledge._meta.apps.get_model("auth", "User").objects.get(username="editor").pk
    assert len(cache.get(f"throttle_{scope}_user-{user_id}")) == 2
    # Each user has an allowance of their own, whatever the address.
    other = client_for(user_in("editors", "other"))
    assert codes(other, url, 1) == [200]


def test_search_is_counted_only_when_given(low_rates, anon, db):
    assert codes(anon, "/api/v1/pledges/", 4) == [200] * 4
    assert codes(anon, "/api/v1/pledges/?search=", 2) == [200] * 2
    assert codes(anon, SEARCH) == [200, 200, 429]


def test_rates_come_from_the_environment():
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.API_SCOPED_THROTTLE_RATES)"
    env = {
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "API_EXPORT_THROTTLE_RATE": "7/hour",
        "API_REPORTS_THROTTLE_RATE": "8/minute",
        "API_SEARCH_THROTTLE_RATE": "9/second",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'export': '7/hour', 'reports': '8/minute', 'search': '9/second'" in result.stdout


def test_an_anonymous_export_is_refused_above_the_limit(settings, anon, editor, db):
    settings.API_ANON_EXPORT_MAX_ROWS = 3
    for _ in range(3):
        PledgeFactory()
    alone = PledgeFactory()
    before = list(Pledge.objects.values())
    response = anon.get(EXPORT)
    assert response.status_code == 401
    assert "More than 3 pledges match" in response.json()["detail"]
    assert "Sign in" in response.json()["detail"]
    # Within the limit (the filters narrow it), the anonymous export is whole.
    narrowed = anon.get(EXPORT, {"donor": alone.donor_id})
    assert narrowed.status_code == 200
    assert len(b"".join(narrowed.streaming_content).decode().splitlines()) == 2
    # A signed-in user gets every pledge.
    signed_in = editor.get(EXPORT)
    assert signed_in.status_code == 200
    assert len(b"".join(signed_in.streaming_content).decode().splitlines()) == 5
    assert list(Pledge.objects.values()) == before


def test_an_anonymous_export_at_the_limit_is_whole(settings, anon, db):
    settings.API_ANON_EXPORT_MAX_ROWS = 3
    for _ in range(3):
        PledgeFactory()
    response = anon.get(EXPORT)
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 4
