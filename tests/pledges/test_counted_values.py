"""Every write path keeps each pledge's counted value (``pledges.counted``): after the API, the
admin, an import or a rate change, what the database holds equals the pledges' EUR values less
their non-cancelled components', computed here from the ECB file."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from pledges.importing import import_table
from pledges.models import ExchangeRate, Pledge
from pledges.spreadsheet import HEADER
from tests import ecb
from tests.api.conftest import client_for, user_in
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 6, 4)


def expected_counted() -> dict[int, int | None]:
    """Each pledge's counted cents by hand: its total at its own date's ECB rate, less its
    non-cancelled components', never below zero."""
    pledges = list(Pledge.objects.all())

    def cents(pledge):
        if pledge.total_amount is None:
            return None
        value = ecb.convert(pledge.total_amount, pledge.currency, "EUR", pledge.announced_on)
        return None if value is None else int(value * 100)

    components = {pledge.pk: 0 for pledge in pledges}
    for pledge in pledges:
        if pledge.parent_id and pledge.status != "cancelled":
            components[pledge.parent_id] += cents(pledge) or 0
    return {
        pledge.pk: None if cents(pledge) is None else max(0, cents(pledge) - components[pledge.pk])
        for pledge in pledges
    }


def stored_counted() -> dict[int, int | None]:
    return dict(Pledge.objects.values_list("pk", "counted_cents"))


def assert_kept():
    assert stored_counted() == expected_counted()


@pytest.fixture
def package():
    package = PledgeFactory(amount=Decimal("1000.00"), currency="GBP", announced_on=DAY)
    PledgeFactory(donor=package.donor, parent=package, amount=Decimal("300.00"), currency="GBP")
    assert_kept()
    return package


@pytest.fixture
def editor():
    return client_for(user_in("editors", "counted-editor"))


def component_payload(package, **changes):
    return {
        "donor": package.donor_id,
        "category": package.category_id,
        "announced_on": "2025-06-04",
        "title": "A component",
        "amount": "200.00",
        "currency": "EUR",
        "parent": package.pk,
        "sources": [{"url": "https://example.org/c", "publisher": "Example"}],
        **changes,
    }


def test_the_api_keeps_them(editor, package):
    response = editor.post("/api/v1/pledges/", component_payload(package), format="json")
    assert response.status_code == 201, response.content
    assert_kept()
    url = f"/api/v1/pledges/{response.json()['id']}/"
    for change in ({"amount": "250.50"}, {"status": "cancelled"}, {"status": "committed"}):
        assert editor.patch(url, change, format="json").status_code == 200
        assert_kept()
    other = PledgeFactory(donor=package.donor, amount=Decimal("5000.00"))
    assert editor.patch(url, {"parent": other.pk}, format="json").status_code == 200
    assert_kept()
    assert editor.patch(url, {"parent": None}, format="json").status_code == 200
    assert_kept()
    assert editor.patch(url, {"parent": package.pk}, format="json").status_code == 200
    assert editor.delete(url).status_code == 204
    assert_kept()
    package_url = f"/api/v1/pledges/{package.pk}/"
    assert editor.patch(package_url, {"amount": "900.00"}, format="json").status_code == 200
    assert_kept()


def test_a_refused_write_leaves_them(editor, package):
    before = stored_counted()
    too_much = component_payload(package, amount="5000.00")
    assert editor.post("/api/v1/pledges/", too_much, format="json").status_code == 400
    assert stored_counted() == before


def test_the_admin_keeps_them(client, package, recent_ecb_file):
    admin = User.objects.create_superuser("counted-admin", password="not-used")
    client.force_login(admin)
    component = package.components.get()
    url = reverse("admin:pledges_pledge_delete", args=[component.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert_kept()
    rate = ExchangeRate.objects.get(currency="GBP", date=DAY)
    data = {"currency": "GBP", "date": DAY.isoformat(), "rate": "0.5"}
    url = reverse("admin:pledges_exchangerate_change", args=[rate.pk])
    assert client.post(url, data).status_code == 302
    package.refresh_from_db()
    assert package.value_eur == Decimal("2000.00")
    assert package.counted_cents == 200000
    call_command("load_ecb_rates", verbosity=0)  # the ECB's rate again
    assert_kept()


def test_an_import_keeps_them(package):
    def row(ref, parent_ref, amount, status="announced"):
        values = {
            "external_ref": ref,
            "parent_ref": parent_ref,
            "donor": package.donor.name,
            "category": package.category.slug,
            "announced_on": "2025-06-04",
            "title": ref,
            "status": status,
            "amount": amount,
            "currency": "USD",
            "amount_basis": "total",
            "recipient": "UA",
            "sources": '[{"url": "https://example.org/i", "publisher": "Example"}]',
        }
        return [values.get(name, "") for name in HEADER]

    first = [list(HEADER), row("p", "", "1000"), row("c1", "p", "400"), row("c2", "p", "100")]
    assert not import_table(first).errors
    assert_kept()
    second = [list(HEADER), row("p", "", "1000"), row("c1", "p", "300", "cancelled")]
    second.append(row("c2", "", "100"))
    report = import_table(second)
    assert not report.errors and report.count("update") == 2
    assert_kept()


def test_a_rate_reload_keeps_them(package, recent_ecb_file):
    ExchangeRate.objects.filter(currency="GBP", date=DAY).update(rate=Decimal("2"))
    call_command("recompute_pledge_values", verbosity=0)
    package.refresh_from_db()
    assert package.counted_cents == (50000 - 15000)
    call_command("load_ecb_rates", verbosity=0)
    assert_kept()
