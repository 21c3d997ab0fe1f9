"""ETag truth: a pledge's ETag changes whenever its representation changes, also
when a rate reload or a recompute changes its converted value (no editor wrote anything). An
editor holding the old ETag is then refused with 412, and a pledge whose value did not change
keeps its ETag."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from pledges.models import ExchangeRate

URL = "/api/v1/pledges/"
ANNOUNCED = dt.date(2025, 6, 4)


def gbp_rate_used() -> ExchangeRate:
    """The GBP rate a pledge announced on ANNOUNCED is converted at (ECB rates are published
    on working days; 4 June 2025 was a Wednesday)."""
    return ExchangeRate.objects.get(currency="GBP", date=ANNOUNCED)


@pytest.fixture
def pledges(editor, payload):
    """A pledge of £1,000 and one of €5, as an editor writes them."""
    in_pounds = editor.post(URL, payload(amount="1000.00", currency="gbp"), format="json")
    in_euros = editor.post(URL, payload(amount="5.00", currency="EUR"), format="json")
    assert in_pounds.status_code == in_euros.status_code == 201
    return f"{URL}{in_pounds.json()['id']}/", f"{URL}{in_euros.json()['id']}/"


def read(client, url) -> tuple[str, Decimal]:
    response = client.get(url)
    assert response.status_code == 200
    return response["ETag"], Decimal(response.json()["value_eur"])


def double_the_gbp_rate() -> None:
    rate = gbp_rate_used()
    rate.rate *= 2
    rate.save()


def test_recompute_changes_the_etag_when_the_value_changes(editor, pledges):
    in_pounds, in_euros = pledges
    etag, value = read(editor, in_pounds)
    euro_etag, _ = read(editor, in_euros)

    double_the_gbp_rate()
    call_command("recompute_pledge_values", stdout=io.StringIO())

    new_etag, new_value = read(editor, in_pounds)
    assert abs(new_value * 2 - value) <= Decimal("0.01")  # twice the pounds per euro
    assert new_etag != etag
    assert read(editor, in_euros)[0] == euro_etag  # its value did not change

    # An editor who read the pledge before the recompute is told it changed.
    stale = editor.patch(in_pounds, {"title": "Stale"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert read(editor, in_pounds) == (new_etag, new_value)
    fresh = editor.patch(in_pounds, {"title": "Fresh"}, format="json", HTTP_IF_MATCH=new_etag)
    assert fresh.status_code == 200


def test_recompute_without_a_change_keeps_every_etag(editor, pledges):
    before = [read(editor, url) for url in pledges]
    call_command("recompute_pledge_values", stdout=io.StringIO())
    assert [read(editor, url) for url in pledges] == before


def test_load_ecb_rates_changes_the_etag_when_the_value_changes(editor, pledges, recent_ecb_file):
    in_pounds, in_euros = pledges
    _, value = read(editor, in_pounds)
    double_the_gbp_rate()
    call_command("recompute_pledge_values", stdout=io.StringIO())
    etag, _ = read(editor, in_pounds)
    euro_etag, _ = read(editor, in_euros)

    # The ECB file (its rows of 2025) puts the real rate back, and with it the first value.
    call_command("load_ecb_rates", stdout=io.StringIO())

    new_etag, new_value = read(editor, in_pounds)
    assert new_value == value
    assert new_etag != etag
    assert read(editor, in_euros)[0] == euro_etag
    stale = editor.patch(in_pounds, {"title": "Stale"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
