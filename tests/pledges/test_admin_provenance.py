"""The admin's pledge form with confidence, re-announcements and sources without an address:
each rule refused naming the field, nothing saved; the re-announcement list filter."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from pledges.models import Pledge, Source
from tests.factories import CountryFactory, PledgeFactory
from tests.pledges.test_admin import ADD_URL, formset, pledge_form

pytestmark = pytest.mark.django_db

CITATION = {"publisher": "Euromaidan Press", "title": "Ramstein", "published_on": "2025-06-05"}


@pytest.fixture
def editor(client):
    user = User.objects.create_user("editor", password="not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="editors"))
    client.force_login(user)
    return user


def source_form_errors(response) -> dict:
    (sources,) = [
        f.formset
        for f in response.context["inline_admin_formsets"]
        if f.formset.prefix == "sources"
    ]
    return {"forms": [form.errors for form in sources.forms], "all": sources.non_form_errors()}


def test_a_cited_source_and_a_re_announcement_through_the_admin(client, editor):
    form = pledge_form(**formset("sources", [{**CITATION, "url": "", "kind": "media"}]))
    earlier = PledgeFactory(
        donor_id=form["donor"], announced_on=dt.date(2025, 5, 28), category_id=form["category"]
    )
    response = client.post(ADD_URL, {**form, "reannounces": str(earlier.pk)})
    assert response.status_code == 302, response.context["errors"]
    pledge = Pledge.objects.get(title="100,000 drones")
    assert pledge.reannounces == earlier
    assert pledge.sources.get().url == ""
    changelist = reverse("admin:pledges_pledge_changelist")
    page = client.get(changelist, {"reannouncement": "true"}).content.decode()
    assert "100,000 drones" in page
    assert earlier.title not in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"confidence": "rumoured"}, "confidence"),
        ({"reannounces": "999999"}, "reannounces"),
    ],
)
def test_the_admin_refuses_bad_provenance_naming_the_field(client, editor, changes, field):
    response = client.post(ADD_URL, pledge_form(**changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert Pledge.objects.count() == Source.objects.count() == 0


def test_the_admin_refuses_a_re_announcement_of_another_donor(client, editor):
    other = PledgeFactory(donor=CountryFactory(name="Canada"), announced_on=dt.date(2025, 5, 1))
    response = client.post(ADD_URL, pledge_form(reannounces=str(other.pk)))
    assert response.status_code == 200
    assert "reannounces" in response.context["adminform"].form.errors
    assert Pledge.objects.count() == 1


def test_the_admin_refuses_a_source_without_address_nor_citation(client, editor):
    form = pledge_form(
        **formset("sources", [{"url": "", "publisher": "Somebody", "kind": "media"}])
    )
    response = client.post(ADD_URL, form)
    assert response.status_code == 200
    assert {"title", "published_on"} <= set(source_form_errors(response)["forms"][0])
    assert Pledge.objects.count() == 0


def test_the_admin_refuses_confirmed_without_an_official_source(client, editor):
    response = client.post(ADD_URL, pledge_form(confidence="confirmed"))
    assert response.status_code == 200
    assert any("official" in error for error in source_form_errors(response)["all"])
    assert Pledge.objects.count() == 0
