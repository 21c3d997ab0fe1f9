"""Fulfilment records in the admin: their own page (items of the pledge, sources), listed on
the pledge's page, checked by the same rules as the API, with history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from pledges.models import Fulfilment, FulfilmentItem, FulfilmentSource, Pledge
from tests.factories import PledgeFactory, PledgeItemFactory, add_record
from tests.pledges.test_admin import editor, formset, reviewer  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:pledges_fulfilment_add")
SOURCE = {
    "url": "https://example.org/delivered",
    "publisher": "Example",
    "title": "",
    "kind": "media",
}


@pytest.fixture
def pledge(db):
    pledge = PledgeFactory(amount=Decimal("1000.00"), currency="EUR", status="committed")
    PledgeItemFactory(pledge=pledge, name="drone", quantity=10)
    return pledge


def record_form(pledge, **changes):
    item = pledge.items.get()
    data = {
        "pledge": str(pledge.pk),
        "kind": "delivered",
        "date": "2025-07-01",
        "amount": "400.00",
        "note": "",
        **formset("items", [{"item": str(item.pk), "quantity": "4"}]),
        **formset("sources", [SOURCE]),
    }
    data.update(changes)
    return data


def state():
    return (
        list(Fulfilment.objects.values()),
        list(FulfilmentItem.objects.values()),
        list(FulfilmentSource.objects.values()),
        list(Pledge.objects.values()),
    )


def test_an_editor_records_a_delivery(client, editor, pledge):  # noqa: F811
    response = client.post(ADD_URL, record_form(pledge))
    assert response.status_code == 302, response.context and response.context["errors"]
    record = Fulfilment.objects.get()
    assert (record.amount, record.items.get().quantity, record.sources.count()) == (
        Decimal("400.00"),
        4,
        1,
    )
    pledge.refresh_from_db()
    assert (pledge.delivered_amount, pledge.delivery, pledge.version) == (
        Decimal(400),
        "partial",
        2,
    )
    assert record.history.get().history_user == editor
    # The rest: delivered in full, and the pledge's status follows.
    client.post(ADD_URL, record_form(pledge, amount="600.00", **formset("items", [])))
    pledge.refresh_from_db()
    assert (pledge.status, pledge.delivery) == ("delivered", "full")
    assert pledge.history.first().history_user == editor


BAD = [
    ({"date": "2025-06-01"}, "date"),
    ({"date": "2999-01-01"}, "date"),
    ({"amount": "1000.01"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"kind": "promised"}, "kind"),
]


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_a_bad_record_is_refused_naming_the_field(client, editor, pledge, changes, field):  # noqa: F811
    before = state()
    response = client.post(ADD_URL, record_form(pledge, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert state() == before


@pytest.mark.parametrize(
    "changes",
    [
        formset("items", [{"item": "", "quantity": "11"}]),
        {"amount": "", **formset("items", [])},
        formset("sources", []),
    ],
    ids=["unknown item", "nothing recorded", "no source"],
)
def test_bad_items_or_sources_are_refused(client, editor, pledge, changes):  # noqa: F811
    before = state()
    response = client.post(ADD_URL, record_form(pledge, **changes))
    assert response.status_code == 200
    assert response.context["errors"]
    assert state() == before


def test_more_than_pledged_of_an_item_is_refused(client, editor, pledge):  # noqa: F811
    item = pledge.items.get()
    add_record(pledge, items=[(item, 8)])
    before = state()
    data = record_form(pledge, **formset("items", [{"item": str(item.pk), "quantity": "3"}]))
    response = client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "more than the 10 pledged" in response.content.decode()
    assert state() == before


def test_the_item_choices_are_the_pledges_own(client, editor, pledge):  # noqa: F811
    other = PledgeItemFactory(pledge=PledgeFactory(), name="tank")
    page = client.get(ADD_URL, {"pledge": pledge.pk}).content.decode()
    assert f'<option value="{pledge.items.get().pk}">' in page
    assert f'<option value="{other.pk}">' not in page
    before = state()
    data = record_form(pledge, **formset("items", [{"item": str(other.pk), "quantity": "1"}]))
    response = client.post(ADD_URL, data)
    assert response.status_code == 200
    assert state() == before


def test_the_pledge_page_lists_its_records_with_links(client, editor, pledge):  # noqa: F811
    record = add_record(pledge, amount=Decimal("400.00"), items=[(pledge.items.get(), 4)])
    page = client.get(reverse("admin:pledges_pledge_change", args=[pledge.pk])).content.decode()
    assert reverse("admin:pledges_fulfilment_change", args=[record.pk]) in page
    assert "400.00 EUR" in page
    assert "4 drone" in page
    assert f"{ADD_URL}?pledge={pledge.pk}" in page
    assert '<div class="readonly">400.00 EUR</div>' in page  # delivered


def test_the_pledge_page_keeps_what_records_hold(client, editor, pledge):  # noqa: F811
    from tests.pledges.test_admin import pledge_form

    item = pledge.items.get()
    record = add_record(pledge, amount=Decimal("400.00"), items=[(item, 4)])
    url = reverse("admin:pledges_pledge_change", args=[pledge.pk])
    source = pledge.sources.get()
    own = {"pledge": str(pledge.pk)}
    base = pledge_form(
        donor=str(pledge.donor_id),
        category=str(pledge.category_id),
        status="committed",
        amount="1000.00",
        currency="EUR",
        announced_on="2025-06-04",
        **formset("items", [{"id": str(item.pk), **own, "name": "drone", "quantity": "10"}], 1),
        **formset("sources", [{"id": str(source.pk), **own, **SOURCE}], 1),
        **formset("fulfilments", [{"id": str(record.pk), **own}], 1),
    )
    before = state()
    for changes in (
        {"amount": "399.99"},
        {"currency": "USD"},
        {"announced_on": "2025-07-02"},
        {"items-0-quantity": "3"},
        {"items-0-DELETE": "on"},
        {"items-TOTAL_FORMS": "2", "items-1-name": "drone", "items-1-quantity": ""},
    ):
        response = client.post(url, {**base, **changes})
        assert response.status_code == 200, changes
        assert state() == before, changes
    response = client.post(url, {**base, "items-0-quantity": "4"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.quantity, item.quantity_delivered) == (4, 4)
    pledge.refresh_from_db()
    # Its only item is delivered in full, but its amount is not: still partial, committed.
    assert (pledge.delivery, pledge.status) == ("partial", "committed")


def test_a_reviewer_reads_records_but_writes_none(client, reviewer, pledge):  # noqa: F811
    record = add_record(pledge, amount=Decimal("1.00"))
    assert client.get(reverse("admin:pledges_fulfilment_changelist")).status_code == 200
    change = reverse("admin:pledges_fulfilment_change", args=[record.pk])
    assert client.get(change).status_code == 200
    assert client.get(ADD_URL).status_code == 403
    before = state()
    client.post(change, record_form(pledge, amount="2.00"))
    assert state() == before


def test_deleting_a_record_in_the_admin(client, editor, pledge):  # noqa: F811
    record = add_record(pledge, amount=Decimal("1000.00"), date=dt.date(2025, 7, 1))
    pledge.refresh_from_db()
    assert pledge.status == "delivered"
    url = reverse("admin:pledges_fulfilment_delete", args=[record.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    pledge.refresh_from_db()
    # Marked delivered, no records left: counted as delivered in full, undated.
    assert (pledge.status, pledge.undated, Fulfilment.objects.count()) == ("delivered", True, 0)
    assert Fulfilment.history.filter(id=record.pk, history_type="-").get().history_user == editor
