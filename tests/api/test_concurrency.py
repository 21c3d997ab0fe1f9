"""ETag and If-Match: two editors cannot silently overwrite each other."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pledges.models import Pledge, Source

URL = "/api/v1/pledges/"


@pytest.fixture
def pledge_id(editor, payload):
    return editor.post(URL, payload(), format="json").json()["id"]


def snapshot(pk):
    pledge = Pledge.objects.get(pk=pk)
    return pledge.version, pledge.title, pledge.status, Source.objects.filter(pledge=pledge).count()


def test_etag_follows_version(anon, editor, pledge_id):
    assert anon.get(f"{URL}{pledge_id}/")["ETag"] == '"1"'
    response = editor.patch(f"{URL}{pledge_id}/", {"title": "Renamed"}, format="json")
    assert response["ETag"] == '"2"'
    assert anon.get(f"{URL}{pledge_id}/")["ETag"] == '"2"'


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_stale_if_match_is_412_and_changes_nothing(editor, payload, pledge_id, method):
    etag = editor.get(f"{URL}{pledge_id}/")["ETag"]
    # Another editor changes the pledge in between.
    editor.patch(f"{URL}{pledge_id}/", {"status": "committed"}, format="json")
    before = snapshot(pledge_id)
    data = payload(title="Mine") if method != "delete" else None
    response = getattr(editor, method)(
        f"{URL}{pledge_id}/", data, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert "detail" in response.json()
    assert snapshot(pledge_id) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("prefix", ["", "W/"])
def test_current_if_match_is_accepted(editor, payload, pledge_id, method, prefix):
    etag = editor.get(f"{URL}{pledge_id}/")["ETag"]
    data = payload(title="Mine") if method != "delete" else None
    response = getattr(editor, method)(
        f"{URL}{pledge_id}/", data, format="json", HTTP_IF_MATCH=prefix + etag
    )
    assert response.status_code in (200, 204), response.content
    if method == "delete":
        assert not Pledge.objects.filter(pk=pledge_id).exists()
    else:
        assert snapshot(pledge_id)[:2] == (2, "Mine")


@pytest.mark.parametrize(
    ("header", "status"),
    [('"7", "1"', 200), ("*", 200), ('"2"', 412), ("1", 412), ("garbage", 412), ("", 412)],
)
def test_if_match_forms(editor, pledge_id, header, status):
    response = editor.patch(
        f"{URL}{pledge_id}/", {"title": "x"}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == status


def test_no_if_match_no_check(editor, pledge_id):
    editor.patch(f"{URL}{pledge_id}/", {"title": "one"}, format="json")
    assert editor.patch(f"{URL}{pledge_id}/", {"title": "two"}, format="json").status_code == 200
    assert snapshot(pledge_id)[:2] == (3, "two")


def test_stale_reviewer_patch_is_412(editor, reviewer, pledge_id):
    etag = editor.get(f"{URL}{pledge_id}/")["ETag"]
    editor.patch(f"{URL}{pledge_id}/", {"title": "changed"}, format="json")
    response = reviewer.patch(
        f"{URL}{pledge_id}/", {"status": "delivered"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert Pledge.objects.get(pk=pledge_id).status == "announced"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no row locks: it locks the whole file"
)
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_if_match_is_checked_under_a_row_lock(editor, payload, pledge_id, method):
    """The pledge is read FOR UPDATE before the version is compared and the write is made,
    so a concurrent writer waits and then sees the new version (and gets 412)."""
    data = payload(title="Mine") if method != "delete" else None
    with CaptureQueriesContext(connection) as captured:
        response = getattr(editor, method)(
            f"{URL}{pledge_id}/", data, format="json", HTTP_IF_MATCH='"1"'
        )
    assert response.status_code in (200, 204)
    sql = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    locked = [n for n, q in enumerate(sql) if "FOR UPDATE" in q and "pledges_pledge" in q]
    writes = [n for n, q in enumerate(sql) if q.startswith(("UPDATE", "DELETE", "INSERT"))]
    assert locked
    assert writes
    assert locked[0] < writes[0]
