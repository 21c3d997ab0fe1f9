"""Editors writing at the same time through a real server: no request fails with a 5xx
(SQLite included), and If-Match lets exactly one of them win."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from pledges.models import Pledge
from tests.factories import PledgeFactory

WRITERS = 12

# Transactional (the server answers from other threads); serialized_rollback puts back what
# the migrations made (groups), rates_kept the rates.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def patch(url: str, token: str, body: dict, if_match: str | None = None) -> int:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    if if_match:
        headers["If-Match"] = if_match
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        url, data=json.dumps(body).encode(), headers=headers, method="PATCH"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def editor_token():
    user = User.objects.create_user("concurrent-editor")
    user.groups.add(Group.objects.get(name="editors"))
    return Token.objects.create(user=user).key


def test_concurrent_patches_all_succeed_without_if_match(rates_kept, live_server, editor_token):
    pledge = PledgeFactory(amount=Decimal("100.00"))
    url = f"{live_server.url}/api/v1/pledges/{pledge.pk}/"
    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(
            pool.map(lambda n: patch(url, editor_token, {"title": f"Title {n}"}), range(WRITERS))
        )
    assert statuses == [200] * WRITERS
    assert Pledge.objects.get(pk=pledge.pk).version == 1 + WRITERS


def test_concurrent_patches_with_the_same_if_match_let_one_win(
    rates_kept, live_server, editor_token
):
    pledge = PledgeFactory(amount=Decimal("100.00"))
    url = f"{live_server.url}/api/v1/pledges/{pledge.pk}/"
    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(
            pool.map(
                lambda n: patch(url, editor_token, {"title": f"Title {n}"}, if_match='"1"'),
                range(WRITERS),
            )
        )
    assert sorted(statuses) == [200] + [412] * (WRITERS - 1)
    assert Pledge.objects.get(pk=pledge.pk).version == 2
