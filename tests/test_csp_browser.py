"""The Content-Security-Policy in a real headless Chromium: the dashboard, the admin and Swagger
UI work under it, with no violation reported."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from pledges.models import Pledge
from tests.test_dashboard_browser import page  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


class Watch:
    """Every CSP violation a page reports: in the console and as a DOM event."""

    def __init__(self, page):  # noqa: F811 - the fixture's value
        self.page = page
        self.console = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str, ready: str):
        response = self.page.goto(url)
        self.page.wait_for_selector(ready, state="attached", timeout=20000)
        self.page.wait_for_timeout(300)  # late violations (styles set by scripts)
        events = self.page.evaluate("window.__violations")
        assert (self.console, events) == ([], []), url
        return response


def test_pages_work_under_the_policy(rates_kept, page, live_server):  # noqa: F811
    call_command("load_reference_data", verbosity=0)
    User.objects.create_superuser("admin", password="a long password 123")
    pledge = Pledge.objects.order_by("pk").first()
    watch = Watch(page)
    base = live_server.url

    response = watch.visit(base + "/", '#headline[data-state="ready"]')
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.locator("#donor-table tr").count() > 0  # the scripts ran

    watch.visit(base + "/admin/login/", "#id_username")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "a long password 123")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == base + "/admin/"
    for path, ready in [
        ("/admin/", "#content-main"),
        ("/admin/pledges/pledge/", "#result_list"),
        ("/admin/pledges/pledge/add/", "#pledge_form"),
        (f"/admin/pledges/pledge/{pledge.pk}/change/", "#pledge_form"),
        (f"/admin/pledges/pledge/{pledge.pk}/history/", "#content-main"),
        ("/admin/pledges/pledge/import/", "#content input[type=file]"),
        ("/admin/pledges/pledge/export/", "#content form"),
    ]:
        response = watch.visit(base + path, ready)
        assert response.status == 200, path
        assert "content-security-policy" in response.headers
    # The admin's own scripts ran: the donor autocomplete (select2) and the inline rows.
    page.goto(base + "/admin/pledges/pledge/add/")
    page.wait_for_selector(".select2-container", timeout=20000)
    page.click("#items-group .add-row a")
    assert page.locator("#items-group tr.form-row.dynamic-items").count() == 1

    watch.visit(base + "/api/v1/docs/", ".opblock")
    assert page.locator(".opblock").count() >= 20
