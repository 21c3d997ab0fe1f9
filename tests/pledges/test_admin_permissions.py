"""Who may do what in the admin: editors write, reviewers read and change a pledge's
status, view-only staff read. Every admin URL is tried as a reviewer and as view-only staff,
and after each refused request nothing has changed."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from pledges.importing import import_table
from pledges.models import Category, Donor, Event, ExchangeRate, Pledge, PledgeItem, Source
from pledges.spreadsheet import export_queryset, generated_ref, iter_rows
from tests.factories import PledgeFactory
from tests.pledges.test_admin import formset

pytestmark = pytest.mark.django_db

MODELS = [Donor, Category, Event, ExchangeRate, Pledge]


def staff(username: str, group: str | None = None, codenames: tuple = ()) -> Client:
    user = User.objects.create_user(username, password="not-used", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewer():
    return staff("reviewer", "reviewers")


@pytest.fixture
def viewer():
    """Staff allowed to view every model and nothing else."""
    return staff("viewer", codenames=tuple(f"view_{model._meta.model_name}" for model in MODELS))


@pytest.fixture
def editor():
    return staff("editor", "editors")


@pytest.fixture
def pledge():
    pledge = PledgeFactory(title="First title")
    pledge.title = "Second title"
    pledge.save()
    return pledge


def snapshot() -> list:
    """Everything an admin request could have written (of the many rates: how many)."""
    return [
        ExchangeRate.objects.count(),
        *(
            list(model.objects.order_by("pk").values())
            for model in (Donor, Category, Event, Pledge, PledgeItem, Source, Pledge.history.model)
        ),
    ]


def revert_data(pledge: Pledge) -> dict:
    """The revert form of the first version, filled as the page shows it to an editor."""
    first = pledge.history.earliest()
    data = {
        "donor": first.donor_id,
        "category": first.category_id,
        "title": first.title,
        "description": first.description,
        "recipient": first.recipient,
        "announced_on": first.announced_on.isoformat(),
        "status": "committed",
        "amount": str(first.amount),
        "currency": first.currency,
        "amount_basis": first.amount_basis,
        "confidence": first.confidence,
        **formset("items", []),
        **formset("components", []),
        **formset("fulfilments", []),
        **formset("sources", [], 0),
    }
    source = pledge.sources.get()
    data.update(
        {
            "sources-TOTAL_FORMS": "1",
            "sources-INITIAL_FORMS": "1",
            "sources-0-id": str(source.pk),
            "sources-0-pledge": str(pledge.pk),
            "sources-0-url": source.url,
            "sources-0-publisher": source.publisher,
            "sources-0-kind": source.kind,
        }
    )
    return data


def import_file(pledge: Pledge) -> SimpleUploadedFile:
    """An import that would rewrite ``pledge`` through its reference."""
    header, row = list(iter_rows(export_queryset(Pledge.objects.filter(pk=pledge.pk))))
    row[header.index("title")] = "Rewritten by an import"
    lines = [
        ",".join(f'"{cell.replace(chr(34), 2 * chr(34))}"' for cell in r) for r in (header, row)
    ]
    return SimpleUploadedFile("pledges.csv", "\n".join(lines).encode(), content_type="text/csv")


def refused_urls(pledge: Pledge) -> list[tuple[str, str, dict]]:
    """(method, url, data) that neither a reviewer nor view-only staff may use."""
    first = pledge.history.earliest()
    urls = []
    for model in MODELS:
        name = model._meta.model_name
        urls += [
            ("get", reverse(f"admin:pledges_{name}_add"), {}),
            ("post", reverse(f"admin:pledges_{name}_add"), {}),
        ]
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            urls += [
                ("get", reverse(f"admin:pledges_{name}_delete", args=[obj.pk]), {}),
                ("post", reverse(f"admin:pledges_{name}_delete", args=[obj.pk]), {"post": "yes"}),
            ]
    revert = reverse("admin:pledges_pledge_simple_history", args=[pledge.pk, first.history_id])
    return [
        *urls,
        ("get", revert, {}),
        ("post", revert, revert_data(pledge)),
        ("get", reverse("admin:pledges_pledge_import"), {}),
        ("post", reverse("admin:pledges_pledge_import"), {"import_file": import_file(pledge)}),
        ("post", reverse("admin:pledges_pledge_process_import"), {}),
    ]


@pytest.mark.parametrize("who", ["reviewer", "viewer"])
def test_reviewers_and_viewers_may_not_write(who, request, pledge):
    client = request.getfixturevalue(who)
    before = snapshot()
    for method, url, data in refused_urls(pledge):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["reviewer", "viewer"])
def test_the_delete_action_is_not_offered(who, request, pledge):
    client = request.getfixturevalue(who)
    before = snapshot()
    for model in MODELS:
        name = model._meta.model_name
        url = reverse(f"admin:pledges_{name}_changelist")
        assert "delete_selected" not in client.get(url).content.decode()
        chosen = list(model.objects.values_list("pk", flat=True)[:3])
        client.post(url, {"action": "delete_selected", "_selected_action": chosen, "post": "yes"})
    assert snapshot() == before


@pytest.mark.parametrize("who", ["reviewer", "viewer"])
def test_reviewers_and_viewers_may_read(who, request, pledge):
    client = request.getfixturevalue(who)
    for model in MODELS:
        name = model._meta.model_name
        assert client.get(reverse(f"admin:pledges_{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:pledges_pledge_change", args=[pledge.pk])).status_code == 200
    assert client.get(reverse("admin:pledges_pledge_history", args=[pledge.pk])).status_code == 200
    assert client.get(reverse("admin:pledges_pledge_export")).status_code == 200


def test_view_only_staff_may_not_change_a_pledge(viewer, pledge):
    before = snapshot()
    url = reverse("admin:pledges_pledge_change", args=[pledge.pk])
    assert viewer.post(url, revert_data(pledge)).status_code == 403
    assert snapshot() == before


def test_staff_without_permissions_sees_nothing(pledge):
    nobody = staff("nobody")
    for name in ("pledge", "donor"):
        assert nobody.get(reverse(f"admin:pledges_{name}_changelist")).status_code == 403
    assert nobody.get(reverse("admin:pledges_pledge_export")).status_code == 403
    assert nobody.get(reverse("admin:pledges_pledge_import")).status_code == 403


def test_import_needs_add_and_change(pledge):
    for codenames in (("add_pledge", "view_pledge"), ("change_pledge", "view_pledge")):
        client = staff("half-" + codenames[0], codenames=codenames)
        assert client.get(reverse("admin:pledges_pledge_import")).status_code == 403
    both = staff("importer", codenames=("add_pledge", "change_pledge", "view_pledge"))
    assert both.get(reverse("admin:pledges_pledge_import")).status_code == 200


def test_an_editor_may_still_import_and_revert(editor, pledge):
    assert editor.get(reverse("admin:pledges_pledge_import")).status_code == 200
    first = pledge.history.earliest()
    url = reverse("admin:pledges_pledge_simple_history", args=[pledge.pk, first.history_id])
    assert editor.get(url).status_code == 200
    assert editor.post(url, revert_data(pledge)).status_code == 302
    pledge.refresh_from_db()
    assert (pledge.title, pledge.status) == ("First title", "committed")


def test_the_importer_refuses_a_user_without_both_permissions(pledge):
    table = [list(row) for row in iter_rows(export_queryset(Pledge.objects.all()))]
    title = table[0].index("title")
    table[1][title] = "Rewritten"
    reviewer = User.objects.create_user("r")
    reviewer.groups.add(Group.objects.get(name="reviewers"))
    before = snapshot()
    with pytest.raises(PermissionDenied, match="add and change"):
        import_table(table, user=reviewer)
    assert snapshot() == before
    editor = User.objects.create_user("e")
    editor.groups.add(Group.objects.get(name="editors"))
    report = import_table(table, user=editor)
    assert report.errors == []
    assert Pledge.objects.get(pk=pledge.pk).title == "Rewritten"
    assert table[1][0] == generated_ref(pledge.pk)
