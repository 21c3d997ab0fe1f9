"""The pledge form's widgets: the recipient chosen by country name, stored as its code; the
derived figures with thousands separators; why a value in euros is missing."""

from decimal import Decimal

import pycountry
import pytest
from django.urls import reverse

from pledges.models import Pledge
from tests.factories import PledgeFactory
from tests.pledges.test_admin import pledge_form

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:pledges_pledge_add")


def test_the_recipient_is_offered_by_country_name_with_its_code(admin_client):
    page = admin_client.get(ADD_URL).content.decode()
    assert '<option value="UA" selected>Ukraine (UA)</option>' in page
    assert '<option value="MD">Moldova (MD)</option>' in page  # the common name
    offered = page.split('name="recipient"')[1].split("</select>")[0].count("<option")
    assert offered == len(pycountry.countries)


@pytest.mark.parametrize(("chosen", "stored"), [("MD", "MD"), ("ua", "UA")])
def test_the_chosen_country_is_stored_as_its_code(admin_client, chosen, stored):
    response = admin_client.post(ADD_URL, pledge_form(recipient=chosen))
    assert response.status_code == 302, response.content
    assert Pledge.objects.get().recipient == stored


@pytest.mark.parametrize("bad", ["Ukraine", "Uk", "XX", ""])
def test_a_recipient_that_is_no_country_is_refused_and_nothing_written(admin_client, bad):
    response = admin_client.post(ADD_URL, pledge_form(recipient=bad))
    assert response.status_code == 200
    assert "recipient" in response.context["adminform"].form.errors
    assert not Pledge.objects.exists()


def test_derived_figures_have_thousands_separators(admin_client):
    pledge = PledgeFactory(amount=Decimal("1234567.50"), currency="EUR")
    page = admin_client.get(reverse("admin:pledges_pledge_change", args=[pledge.pk]))
    text = page.content.decode()
    assert '<div class="readonly">1,234,567.50 EUR</div>' in text  # total amount
    assert '<div class="readonly">1,234,567.50</div>' in text  # value (EUR)


def test_a_missing_value_says_why(admin_client):
    pledge = PledgeFactory(amount=Decimal(1000), currency="UAH")
    assert pledge.value_eur is None
    page = admin_client.get(reverse("admin:pledges_pledge_change", args=[pledge.pk]))
    assert "The ECB publishes no euro reference rate for UAH" in page.content.decode()
