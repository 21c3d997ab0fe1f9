"""Lists and reports cached under the data version: never stale, ETag and 304."""

import os
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from pledges.models import Pledge
from tests.factories import PledgeFactory

LIST = "/api/v1/pledges/"
REPORT = "/api/v1/reports/totals/"
TIMELINE = "/api/v1/reports/timeline/"
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/7"


def queries(client, url, params=None, **headers):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {}, headers=headers)
    return response, [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.fixture
def pledges(refs):
    return [
        PledgeFactory(
            donor=refs["donor"], category=refs["category"], amount=Decimal(n), currency="EUR"
        )
        for n in (100, 200)
    ]


def test_a_repeated_list_is_answered_from_the_cache(anon, pledges):
    first, _ = queries(anon, LIST, {"page_size": 1})
    again, sql_again = queries(anon, LIST, {"page_size": 1})
    assert again.json() == first.json()
    assert first.json()["count"] == 2
    assert len(sql_again) == 1  # the data version, nothing else
    assert "pledges_datachange" in sql_again[0]
    # Another page of the same filters counts no rows again.
    second_page, sql_page = queries(anon, LIST, {"page_size": 1, "page": 2})
    assert second_page.json()["count"] == 2
    assert not any("COUNT(" in q.upper() for q in sql_page)


def test_a_write_is_seen_at_once_by_lists_and_reports(anon, editor, pledges):
    params = {"group_by": "donor"}
    before = anon.get(REPORT, params).json()
    listed = anon.get(LIST).json()
    assert before["total"] == "300.00"
    assert anon.get(TIMELINE).json()["rows"][-1]["cumulative_pledged"] == "300.00"
    response = editor.patch(f"{LIST}{pledges[0].pk}/", {"amount": "1000.00"}, format="json")
    assert response.status_code == 200
    assert anon.get(REPORT, params).json()["total"] == "1200.00"
    assert anon.get(TIMELINE).json()["rows"][-1]["cumulative_pledged"] == "1200.00"
    after = anon.get(LIST).json()
    assert (
        {r["amount"] for r in after["results"]}
        == {"1000.00", "200.00"}
        != {r["amount"] for r in listed["results"]}
    )
    assert editor.delete(f"{LIST}{pledges[1].pk}/").status_code == 204
    assert anon.get(REPORT, params).json()["total"] == "1000.00"
    assert anon.get(LIST).json()["count"] == 1
    # A write the API did not make (a command, the admin, SQL) is seen as well.
    Pledge.objects.update(title="Changed behind the API's back")
    assert {r["title"] for r in anon.get(LIST).json()["results"]} == {
        "Changed behind the API's back"
    }


@pytest.mark.parametrize(
    "url, params",
    [
        (LIST, {"donor": "1", "ordering": "-value_eur"}),
        (REPORT, {"group_by": "donor,year", "currency": "USD"}),
        (REPORT, {"group_by": "donor", "format": "csv"}),
        (TIMELINE, {"group_by": "donor", "interval": "year", "currency": "USD"}),
        (TIMELINE, {"format": "csv"}),
        ("/api/v1/donors/", {}),
        ("/api/v1/exchange-rates/", {"currency": "USD"}),
    ],
)
def test_etag_and_304(anon, editor, pledges, url, params):
    params = {**params, "donor": str(pledges[0].donor_id)} if "donor" in params else params
    first = anon.get(url, params)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and first["Cache-Control"] == "no-cache"
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response, sql = queries(anon, url, params, if_none_match=header)
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag
        assert len(sql) == 1  # the data version only
    assert anon.get(url, params, headers={"if-none-match": '"other"'}).status_code == 200
    # The same parameters in another order are the same request.
    reordered = dict(reversed(list(params.items())))
    assert anon.get(url, reordered)["ETag"] == etag
    assert anon.get(url, {**params, "page_size": "7"})["ETag"] != etag
    # After a write, the old ETag no longer matches.
    editor.patch(f"{LIST}{pledges[0].pk}/", {"amount": "5.00"}, format="json")
    after = anon.get(url, params, headers={"if-none-match": etag})
    assert after.status_code == 200
    assert after["ETag"] != etag


@pytest.mark.parametrize("url", [LIST, REPORT])
def test_a_repeated_json_answer_is_sent_as_it_was_rendered(anon, pledges, url, monkeypatch):
    first = anon.get(url, {"group_by": "donor"} if url == REPORT else {})
    assert first.status_code == 200

    def not_again(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(JSONRenderer, "render", not_again)
    again = anon.get(url, {"group_by": "donor"} if url == REPORT else {})
    assert again.status_code == 200
    assert again.content == first.content
    for header in ("Content-Type", "ETag", "Cache-Control", "Vary", "Allow"):
        assert again[header] == first[header], header


def test_the_browsable_api_is_rendered_for_each_user(editor, reviewer, pledges):
    """Its pages name the signed-in user: never one user's page for another."""
    for client, name, other in ((editor, "editor", "reviewer"), (reviewer, "reviewer", "editor")):
        page = client.get(LIST, headers={"accept": "text/html"})
        assert page["Content-Type"].startswith("text/html")
        text = page.content.decode()
        assert f'<li class="navbar-text">{name}</li>' in text
        assert f'<li class="navbar-text">{other}</li>' not in text


def test_json_and_csv_of_a_report_have_different_etags(anon, pledges):
    json_tag = anon.get(REPORT, {"group_by": "donor"})["ETag"]
    csv = anon.get(REPORT, {"group_by": "donor"}, headers={"accept": "text/csv"})
    assert csv["Content-Type"].startswith("text/csv")
    assert csv["ETag"] != json_tag


@pytest.mark.parametrize("url", [REPORT, TIMELINE])
def test_bad_parameters_are_not_cached(anon, pledges, url):
    for _ in range(2):
        response = anon.get(url, {"group_by": "colour"})
        assert response.status_code == 400
        assert "group_by" in response.json()
        assert "ETag" not in response


def redis_answers() -> bool:
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def test_answers_are_shared_through_redis(anon, editor, pledges):
    if not redis_answers():
        pytest.skip(f"No Redis answers at {REDIS_URL}: start one (apt-get install redis-server).")
    redis_cache = {
        "default": {
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tests-caching",
        }
    }
    with override_settings(CACHES=redis_cache):
        cache = caches["default"]
        _delete_own_keys(cache)
        try:
            first, _ = queries(anon, REPORT, {"group_by": "category"})
            keys = cache._cache.get_client().keys("tests-caching:*answer:*")
            # the report's data, and the same rendered as JSON, in Redis
            assert len(keys) == 2
            assert sum(key.endswith(b":application/json") for key in keys) == 1
            again, sql = queries(anon, REPORT, {"group_by": "category"})
            assert again.json() == first.json() and len(sql) == 1
            editor.patch(f"{LIST}{pledges[0].pk}/", {"amount": "1.00"}, format="json")
            assert anon.get(REPORT, {"group_by": "category"}).json()["total"] == "201.00"
        finally:
            _delete_own_keys(cache)


def _delete_own_keys(cache):
    """Empty this test's prefix only: ``cache.clear()`` on Redis is a FLUSHDB, which emptied the
    other parallel worker's cache too (and made its cache tests count rows again, now and then)."""
    redis = cache._cache.get_client(write=True)
    keys = list(redis.scan_iter(match=cache.make_key("*")))
    if keys:
        redis.delete(*keys)
