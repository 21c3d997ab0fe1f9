"""Sign-in attempts to the admin are throttled (django-axes): after AXES_FAILURE_LIMIT wrong
passwords from one address, even the right password is refused until the cool-off ends.
Everything goes through the real login form, CSRF token included."""

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "the right password 42"


@pytest.fixture
def staff_user():
    return User.objects.create_user("editor", password=PASSWORD, is_staff=True)


def sign_in(client: Client, password: str, address: str = "192.0.2.10"):
    """Fill in the form as a browser would: read it, send it back with its CSRF token."""
    page = client.get(LOGIN, REMOTE_ADDR=address)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    return client.post(
        LOGIN,
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": "editor",
            "password": password,
            "next": "/admin/",
        },
        REMOTE_ADDR=address,
    )


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_the_right_password_signs_in(staff_user):
    client = Client(enforce_csrf_checks=True)
    response = sign_in(client, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_lockout_after_failures_then_cool_off(staff_user):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client(enforce_csrf_checks=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, "wrong")
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    locked = sign_in(client, "wrong")
    assert locked.status_code == 429
    # Now the right password is refused too, and the user is not signed in.
    refused = sign_in(client, PASSWORD)
    assert refused.status_code == 429
    assert "locked" in refused.content.decode().lower()
    assert not signed_in(client)
    # Another address is not locked out.
    elsewhere = Client(enforce_csrf_checks=True)
    assert sign_in(elsewhere, PASSWORD, address="198.51.100.7").status_code == 302
    # After the cool-off (attempts older than AXES_COOLOFF_TIME hours), it signs in again.
    cool_off = dt.timedelta(hours=settings.AXES_COOLOFF_TIME) + dt.timedelta(seconds=1)
    attempt = AccessAttempt.objects.get(ip_address="192.0.2.10")
    assert attempt.failures_since_start > settings.AXES_FAILURE_LIMIT  # the refused one too
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - cool_off)
    assert sign_in(client, PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_api_token_is_not_a_sign_in_form(staff_user):
    """The lockout guards the admin's form; API requests with a token are unaffected."""
    client = Client(enforce_csrf_checks=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong")
    assert Client().get("/api/v1/donors/", REMOTE_ADDR="192.0.2.10").status_code == 200
