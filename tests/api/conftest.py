import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CategoryFactory, CountryFactory, EventFactory


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def user_in(group: str | None, username: str) -> User:
    user = User.objects.create_user(username, password="not-used-here")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def editor(db):
    return client_for(user_in("editors", "editor"))


@pytest.fixture
def reviewer(db):
    return client_for(user_in("reviewers", "reviewer"))


@pytest.fixture
def nobody(db):
    """Authenticated, with no permission at all."""
    return client_for(user_in(None, "nobody"))


@pytest.fixture
def refs(db):
    """A donor, a category and an event to refer to by id."""
    return {
        "donor": CountryFactory(name="United Kingdom"),
        "category": CategoryFactory(slug="drones", name="Drones"),
        "event": EventFactory(name="UDCG 28", date=dt.date(2025, 6, 4)),
    }


@pytest.fixture
def payload(refs):
    """A valid pledge as a client writes it; tests change a copy."""

    def build(**changes):
        data = {
            "donor": refs["donor"].pk,
            "category": refs["category"].pk,
            "event": refs["event"].pk,
            "announced_on": "2025-06-04",
            "title": "100,000 drones",
            "amount": "350000000.00",
            "currency": "gbp",
            "items": [{"name": "drone", "quantity": 100000}],
            "sources": [
                {
                    "url": "https://www.gov.uk/government/news/drones",
                    "publisher": "UK Ministry of Defence",
                    "title": "UK to provide 100,000 drones",
                    "published_on": "2025-06-04",
                }
            ],
        }
        data.update(changes)
        return data

    return build
