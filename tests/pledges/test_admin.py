import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pledges.models import Pledge, PledgeItem, Source
from pledges.services import store_pledge
from tests.factories import CategoryFactory, CountryFactory, PledgeFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:pledges_pledge_add")


@pytest.fixture
def editor(client):
    user = User.objects.create_user("editor", password="not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="editors"))
    client.force_login(user)
    return user


@pytest.fixture
def reviewer(client):
    user = User.objects.create_user("reviewer", password="not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="reviewers"))
    client.force_login(user)
    return user


def formset(prefix, rows, initial=0):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def pledge_form(**changes):
    donor = CountryFactory(name="United Kingdom")
    category = CategoryFactory(slug="drones", name="Drones")
    data = {
        "donor": donor.pk,
        "category": category.pk,
        "title": "100,000 drones",
        "description": "",
        "recipient": "UA",
        "announced_on": "2025-06-04",
        "status": "announced",
        "confidence": "reported",
        "amount": "350000000.00",
        "currency": "gbp",
        "amount_basis": "total",
        "period_start_year": "",
        "period_end_year": "",
        "external_ref": "",
        **formset("items", [{"name": "drone", "quantity": "100000"}]),
        **formset(
            "sources",
            [
                {
                    "url": "https://example.org/uk-drones",
                    "publisher": "Example",
                    "title": "",
                    "kind": "media",
                }
            ],
        ),
        **formset("components", []),
        **formset("fulfilments", []),
    }
    data.update(changes)
    return data


def test_an_editor_adds_a_pledge_with_items_and_sources(client, editor):
    response = client.post(ADD_URL, pledge_form())
    assert response.status_code == 302, response.context["errors"]
    pledge = Pledge.objects.get()
    assert pledge.currency == "GBP"
    assert pledge.value_eur is not None
    assert PledgeItem.objects.get().quantity == 100000
    assert Source.objects.get().pledge == pledge
    assert pledge.history.get().history_user == editor


ADMIN_CASES = [
    ({"amount": "0"}, "amount"),
    ({"amount": "-1"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "1e20"}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"announced_on": "2999-01-01"}, "announced_on"),
    ({"announced_on": "2025-02-30"}, "announced_on"),
    ({"title": ""}, "title"),
    ({"amount_basis": "per_year"}, "period_start_year"),
    (
        {"amount_basis": "per_year", "period_start_year": "2029", "period_end_year": "2025"},
        "period_end_year",
    ),
    ({"recipient": "ZZ"}, "recipient"),
    ({"donor": "999999"}, "donor"),
    ({"category": ""}, "category"),
]


@pytest.mark.parametrize(("changes", "field"), ADMIN_CASES)
def test_the_admin_form_refuses_each_rule_naming_the_field(client, editor, changes, field):
    response = client.post(ADD_URL, pledge_form(**changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Pledge.objects.count() == 0
    assert Source.objects.count() == PledgeItem.objects.count() == 0


def test_the_admin_refuses_a_pledge_without_a_source(client, editor):
    response = client.post(ADD_URL, pledge_form(**formset("sources", [])))
    assert response.status_code == 200
    errors = [
        str(error)
        for formset in response.context["inline_admin_formsets"]
        for error in formset.formset.non_form_errors()
    ]
    assert any("at least" in error and "source" in error.lower() for error in errors), errors
    assert Pledge.objects.count() == 0


def test_the_admin_refuses_a_non_http_source(client, editor):
    bad_source = formset("sources", [{"url": "ftp://example.org/x", "publisher": "X"}])
    response = client.post(ADD_URL, pledge_form(**bad_source))
    assert response.status_code == 200
    source_formset = next(
        f.formset
        for f in response.context["inline_admin_formsets"]
        if f.formset.prefix == "sources"
    )
    assert "url" in source_formset.forms[0].errors
    assert Pledge.objects.count() == 0


def test_the_admin_refuses_components_worth_more_than_the_package(client, editor):
    package = PledgeFactory(
        donor=CountryFactory(name="United Kingdom"), amount=Decimal("100.00"), currency="EUR"
    )
    response = client.post(ADD_URL, pledge_form(parent=str(package.pk), currency="EUR"))
    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors
    assert Pledge.objects.count() == 1


def test_the_changelist_query_count_does_not_grow_with_rows(admin_client):
    url = reverse("admin:pledges_pledge_changelist")

    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url).status_code == 200
        return len(queries)

    donor = CountryFactory(name="Norway")
    PledgeFactory.create_batch(3, donor=donor)
    few = queries_for_page()
    package = PledgeFactory(donor=donor, amount=Decimal(10**9))
    PledgeFactory.create_batch(40, donor=donor, parent=package)
    assert queries_for_page() == few


def test_the_changelist_shows_the_euro_value(admin_client):
    PledgeFactory(title="Shown", amount=Decimal("1000.00"), currency="EUR")
    response = admin_client.get(reverse("admin:pledges_pledge_changelist"))
    assert b'<td class="field-value_in_euros">1,000.00</td>' in response.content


def test_the_changelist_filters_by_year_and_currency(admin_client):
    PledgeFactory(title="In 2024", announced_on=dt.date(2024, 3, 1), currency="USD")
    PledgeFactory(title="In 2025", announced_on=dt.date(2025, 3, 3), currency="EUR")
    url = reverse("admin:pledges_pledge_changelist")
    by_year = admin_client.get(url, {"year": "2024"}).context["cl"].result_list
    assert [p.title for p in by_year] == ["In 2024"]
    by_currency = admin_client.get(url, {"currency": "EUR"}).context["cl"].result_list
    assert [p.title for p in by_currency] == ["In 2025"]


def test_a_reviewer_may_change_only_the_status(client, reviewer):
    pledge = PledgeFactory(title="Original", amount=Decimal("10.00"))
    url = reverse("admin:pledges_pledge_change", args=[pledge.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert list(page.context["adminform"].form.fields) == ["status"]
    data = {"status": "committed", **formset("items", [], 0), **formset("components", [], 0)}
    data.update(formset("fulfilments", [], 0))
    data.update(formset("sources", [], 0))
    data["sources-TOTAL_FORMS"] = data["sources-INITIAL_FORMS"] = "1"
    data["sources-0-id"] = str(pledge.sources.get().pk)
    data["sources-0-pledge"] = str(pledge.pk)
    data["title"] = "Changed by a reviewer"
    response = client.post(url, data)
    assert response.status_code == 302
    pledge.refresh_from_db()
    assert (pledge.status, pledge.title) == ("committed", "Original")
    assert client.get(reverse("admin:pledges_pledge_add")).status_code == 403


def test_the_groups_exist_with_their_permissions():
    editors = set(Group.objects.get(name="editors").permissions.values_list("codename", flat=True))
    reviewers = set(
        Group.objects.get(name="reviewers").permissions.values_list("codename", flat=True)
    )
    assert {"add_pledge", "change_pledge", "delete_pledge", "add_source"} <= editors
    assert "change_pledge_status" in reviewers
    assert not reviewers & {"add_pledge", "change_pledge", "delete_pledge"}


def test_history_can_be_reverted_in_the_admin(admin_client):
    pledge = PledgeFactory(title="First title")
    pledge.title = "Second title"
    store_pledge(pledge)
    first = pledge.history.earliest()
    url = reverse("admin:pledges_pledge_simple_history", args=[pledge.pk, first.history_id])
    assert admin_client.get(url).status_code == 200
    history_page = admin_client.get(reverse("admin:pledges_pledge_history", args=[pledge.pk]))
    assert history_page.status_code == 200
    assert len(history_page.context["page_obj"].object_list) == 2
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(formset("items", []))
    data.update(formset("components", []))
    data.update(formset("fulfilments", []))
    data.update(formset("sources", [], 0))
    data["sources-TOTAL_FORMS"] = data["sources-INITIAL_FORMS"] = "1"
    source = pledge.sources.get()
    data.update(
        {
            "sources-0-id": str(source.pk),
            "sources-0-pledge": str(pledge.pk),
            "sources-0-url": source.url,
            "sources-0-publisher": source.publisher,
        }
    )
    assert admin_client.post(url, data).status_code == 302
    pledge.refresh_from_db()
    assert pledge.title == "First title"
    assert pledge.history.count() == 3
