"""Who changed a pledge is shown only to signed-in users allowed to view pledges: anonymous
readers see that it changed (date, type, fields), not who (a list of accounts to attack)."""

from django.contrib.auth.models import Permission

from .conftest import client_for, user_in

URL = "/api/v1/pledges/"


def test_anonymous_readers_see_what_changed_not_who(anon, editor, nobody, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    editor.patch(f"{URL}{pledge_id}/", {"status": "committed"}, format="json")
    history = f"{URL}{pledge_id}/history/"

    shown = editor.get(history).json()["results"]
    assert [version["user"] for version in shown] == ["editor", "editor"]
    for reader in (anon, nobody):
        hidden = reader.get(history).json()["results"]
        assert [version["user"] for version in hidden] == [None, None]
        # Everything else is the same.
        assert [{**version, "user": None} for version in shown] == hidden
    assert hidden[0]["type"] == "changed"
    assert {change["field"] for change in hidden[0]["changes"]} == {"status"}


def test_the_view_permission_is_what_counts(anon, editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    history = f"{URL}{pledge_id}/history/"
    reviewer = client_for(user_in("reviewers", "reviewer"))
    assert reviewer.get(history).json()["results"][0]["user"] == "editor"
    viewer = user_in(None, "viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_pledge"))
    assert client_for(viewer).get(history).json()["results"][0]["user"] == "editor"
    inactive = user_in("editors", "gone")
    client = client_for(inactive)
    inactive.is_active = False
    inactive.save()
    assert client.get(history).status_code == 401


def test_the_schema_says_so(anon, db):
    schema = anon.get("/api/v1/schema/?format=json").json()
    entry = schema["components"]["schemas"]["HistoryEntry"]["properties"]["user"]
    assert "signed-in users with permission to view pledges" in entry["description"]
    operation = schema["paths"]["/api/v1/pledges/{id}/history/"]["get"]
    assert "null" in operation["description"]
