"""Editors recording deliveries of one pledge at the same time, through a real server: the
pledge's row lock lets them add up to its total and no further, and no request fails with a
5xx (SQLite included)."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from pledges.models import Fulfilment, Pledge
from tests.api.test_concurrent_writes import editor_token  # noqa: F401 - a fixture
from tests.factories import PledgeFactory

WRITERS = 8
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def post(url: str, token: str, body: dict) -> int:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_concurrent_deliveries_never_exceed_the_pledge(rates_kept, live_server, editor_token):  # noqa: F811
    pledge = PledgeFactory(amount=Decimal("100.00"), currency="EUR", status="committed")
    body = {
        "pledge": pledge.pk,
        "kind": "delivered",
        "date": "2025-07-01",
        "amount": "30.00",
        "sources": [{"url": "https://example.org/d", "publisher": "Example"}],
    }
    url = f"{live_server.url}/api/v1/fulfilments/"
    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(pool.map(lambda _: post(url, editor_token, body), range(WRITERS)))
    # Three of 30.00 fit in 100.00; a fourth would make 120.00.
    assert sorted(statuses) == [201] * 3 + [400] * (WRITERS - 3)
    pledge = Pledge.objects.get(pk=pledge.pk)
    assert (Fulfilment.objects.count(), pledge.delivered_amount) == (3, Decimal("90.00"))
    assert (pledge.delivery, pledge.version) == ("partial", 4)
