"""The pledge admin at a laptop's width (1366 px) and a phone's (390 px), in headless Chromium:
no horizontal scroll on the list and the form, every column of the list in view."""

import os

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from pledges.models import Pledge
from tests.browser import LAPTOP, PHONE, overflow
from tests.factories import add_record

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
SCREENSHOTS = os.environ.get("ADMIN_SCREENSHOTS")  # a directory, e.g. docs/


@pytest.fixture
def signed_in(rates_kept, browser, live_server):
    """A browser context signed in to the admin as a superuser, on the reference data."""
    call_command("load_reference_data", verbosity=0)
    user = User.objects.create_superuser("admin", password="not-used-here")
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value

    def open_page(viewport: dict):
        context = browser.new_context(viewport=viewport)
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        return context.new_page()

    return open_page


def visible_columns(page) -> dict[str, dict]:
    """Each column of the change list: whether its header ends inside the visible part of the
    list, and whether any of its cells is cut."""
    return page.evaluate(
        """() => {
            const list = document.querySelector("#changelist .results");
            const edge = Math.min(list.getBoundingClientRect().right, window.innerWidth);
            return Object.fromEntries([...document.querySelectorAll("#result_list thead th")]
                .map((th) => [th.innerText.trim() || th.className, {
                    inView: th.getBoundingClientRect().right <= edge + 0.5,
                    cut: [...document.querySelectorAll(`#result_list .field-${[...th.classList]
                            .find((name) => name.startsWith("column-"))?.slice(7)}`)]
                         .some((cell) => cell.scrollWidth > cell.clientWidth + 1),
                }]));
        }"""
    )


def list_scrolls(page) -> bool:
    return page.evaluate(
        """() => { const list = document.querySelector("#changelist .results");
                   return list.scrollWidth > list.clientWidth; }"""
    )


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


# Each test looks at its page at a laptop's width, then at a phone's: a live-server test's
# set-up and flush cost more than opening the page once more.
def phone_overflow(signed_in, url: str) -> int:
    """How far the page at ``url`` is wider than a phone's window (0: it fits)."""
    page = signed_in(PHONE)
    page.goto(url)
    return overflow(page)


def test_the_pledge_list_fits(signed_in, live_server):
    url = f"{live_server.url}/admin/pledges/pledge/"
    page = signed_in(LAPTOP)
    page.goto(url)
    shot(page, "admin-pledges.png")
    columns = visible_columns(page)
    assert overflow(page) == 0
    assert not list_scrolls(page), columns
    assert all(column["inView"] for column in columns.values()), columns
    assert not any(column["cut"] for column in columns.values()), columns
    assert phone_overflow(signed_in, url) == 0


@pytest.mark.parametrize("path", ["1/change/", "add/"])
def test_the_pledge_form_fits(signed_in, live_server, path):
    url = f"{live_server.url}/admin/pledges/pledge/{path}"
    page = signed_in(LAPTOP)
    page.goto(url)
    if path == "1/change/":
        shot(page, "admin-pledge-form.png")
    assert overflow(page) == 0
    # An ordinary title is seen whole in its box.
    page.fill("#id_title", "Record £4.5 billion military aid package for 2025, with drones")
    assert page.evaluate(
        "(() => { const box = document.getElementById('id_title');"
        " return box.scrollWidth <= box.clientWidth; })()"
    )
    assert phone_overflow(signed_in, url) == 0


@pytest.mark.parametrize(
    "path",
    ["fulfilment/", "fulfilment/{record}/change/", "fulfilment/add/?pledge=2", "pledge/2/change/"],
)
def test_the_record_pages_fit(signed_in, live_server, path):
    """A delivery of the UK's drones (made up for the test: the seed states none)."""
    from decimal import Decimal

    drones = Pledge.objects.get(pk=2)
    record = add_record(
        drones,
        amount=Decimal("100000000.00"),
        items=[(drones.items.get(), 30000)],
        note="First batch handed over at the border, with training for the crews.",
    )
    url = f"{live_server.url}/admin/pledges/{path.format(record=record.pk)}"
    page = signed_in(LAPTOP)
    page.goto(url)
    if path.startswith("fulfilment/{record}"):
        shot(page, "admin-record-form.png")
    assert overflow(page) == 0
    if path == "fulfilment/":
        columns = visible_columns(page)
        assert not list_scrolls(page), columns
        assert all(column["inView"] for column in columns.values()), columns
    assert phone_overflow(signed_in, url) == 0
