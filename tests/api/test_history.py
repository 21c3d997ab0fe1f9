"""GET pledges/{id}/history/: every version, newest first, also after deletion."""

from django.contrib.auth.models import User

URL = "/api/v1/pledges/"


def test_history_after_change_and_delete(anon, editor, payload, refs):
    created = editor.post(URL, payload(), format="json").json()
    pledge_id = created["id"]
    editor.patch(
        f"{URL}{pledge_id}/",
        {"amount": "1000.00", "currency": "EUR", "status": "committed"},
        format="json",
    )
    # Who made each change is shown to readers allowed to view pledges (the editor here).
    response = editor.get(f"{URL}{pledge_id}/history/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    changed, first = body["results"]
    assert [changed["type"], first["type"]] == ["changed", "created"]
    assert changed["user"] == first["user"] == "editor"
    assert changed["date"] >= first["date"]
    changes = {c["field"]: (c["old"], c["new"]) for c in changed["changes"]}
    assert changes["amount"] == ("350000000.00", "1000.00")
    assert changes["currency"] == ("GBP", "EUR")
    assert changes["status"] == ("announced", "committed")
    assert changes["value_eur"] == (created["value_eur"], "1000.00")
    assert "title" not in changes
    initial = {c["field"]: (c["old"], c["new"]) for c in first["changes"]}
    assert initial["title"] == (None, "100,000 drones")
    assert initial["donor"] == (None, refs["donor"].pk)
    assert initial["announced_on"] == (None, "2025-06-04")

    assert editor.delete(f"{URL}{pledge_id}/").status_code == 204
    body = editor.get(f"{URL}{pledge_id}/history/").json()
    assert body["count"] == 3
    assert [v["type"] for v in body["results"]] == ["deleted", "changed", "created"]
    assert body["results"][0]["user"] == "editor"
    assert body["results"][0]["changes"] == []


def test_history_user_of_another_editor(anon, editor, payload):
    from django.contrib.auth.models import Group

    from .conftest import client_for

    other = User.objects.create_user("second")
    other.groups.add(Group.objects.get(name="editors"))
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    client_for(other).patch(f"{URL}{pledge_id}/", {"title": "T2"}, format="json")
    users = [v["user"] for v in editor.get(f"{URL}{pledge_id}/history/").json()["results"]]
    assert users == ["second", "editor"]


def test_history_of_unknown_pledge(anon, db):
    response = anon.get(f"{URL}424242/history/")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_history_shows_items_and_sources_as_they_changed(anon, editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    new_source = {
        "url": "https://example.org/update",
        "publisher": "Example",
        "title": "",
        "published_on": None,
        "kind": "official",
        "archived_url": "",
        "accessed_on": None,
    }
    editor.patch(f"{URL}{pledge_id}/", {"sources": [new_source]}, format="json")
    editor.patch(f"{URL}{pledge_id}/", {"status": "committed"}, format="json")
    editor.patch(f"{URL}{pledge_id}/", {"items": [{"name": "drone", "quantity": 5}]}, format="json")
    newest, status_only, sources_only, created = [
        {c["field"]: (c["old"], c["new"]) for c in version["changes"]}
        for version in anon.get(f"{URL}{pledge_id}/history/").json()["results"]
    ]
    # Keys the payload leaves out are stored empty (kind: other).
    first_source = {
        **payload()["sources"][0],
        "kind": "other",
        "archived_url": "",
        "accessed_on": None,
    }
    assert created["items"] == (None, [{"name": "drone", "quantity": 100000}])
    assert created["sources"] == (None, [first_source])
    assert sources_only == {"sources": ([first_source], [new_source])}
    assert status_only == {"status": ("announced", "committed")}
    assert newest == {
        "items": ([{"name": "drone", "quantity": 100000}], [{"name": "drone", "quantity": 5}])
    }
