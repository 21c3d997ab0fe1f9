"""The dashboard in a real headless Chromium, driven by Playwright: the figures it
shows are the reports API's, before and after changing filters."""

import json
import os
import shutil
import urllib.parse
import urllib.request

import pytest
from django.core.management import call_command

from pledges.reports import key_label

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        pytest.skip(
            "Chromium is not installed, so the dashboard was not tried in a browser: "
            "install it with `apt-get install chromium` (Debian/Ubuntu)."
        )
    return path


@pytest.fixture
def page(monkeypatch):
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test
    # itself are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, args=CHROMIUM_ARGS, headless=True
        )
        yield browser.new_page(viewport={"width": 1280, "height": 1500})
        browser.close()


def api(base: str, **params) -> dict:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}/api/v1/reports/totals/?{query}") as response:  # noqa: S310
        return json.load(response)


def grouped(total: str) -> str:
    whole, cents = total.split(".")
    return f"{int(whole):,}.{cents}"


def shown(page) -> dict:
    """What the page shows: the headline figures, the donor table and the donor chart."""
    return page.evaluate(
        """() => ({
            total: document.getElementById("total").dataset.value,
            exact: document.getElementById("total-exact").textContent,
            pledges: document.getElementById("pledges").textContent,
            unvalued: document.getElementById("unvalued").textContent,
            unconverted: document.getElementById("unconverted").textContent,
            table: [...document.querySelectorAll("#donor-table tr[data-donor]")].map(
                (tr) => [tr.dataset.donor, tr.children[1].textContent,
                         ...[...tr.children].slice(2).map((td) => td.textContent)]),
            chart: Chart.getChart("donor-chart").data.labels,
            categories: Chart.getChart("category-chart").data.labels,
            months: Chart.getChart("time-chart").data.labels,
        })"""
    )


def expected(base: str, **params) -> dict:
    donors = api(base, group_by="donor", **params)
    categories = api(base, group_by="category", **params)
    months = api(base, group_by="month", **params)
    currency = donors["currency"]
    return {
        "total": donors["total"],
        "exact": f"{currency} {grouped(donors['total'])}",
        "pledges": f"{donors['pledges']:,}",
        "unvalued": f"{donors['unvalued']:,}",
        "unconverted": f"{donors['unconverted']:,}",
        "table": [
            [
                key_label(row["donor"]),
                f"{currency} {grouped(row['total'])}",
                str(row["pledges"]),
                str(row["unvalued"]),
                str(row["unconverted"]),
            ]
            for row in donors["rows"]
        ],
        "chart": [key_label(row["donor"]) for row in donors["rows"] if row["total"] != "0.00"][:15],
        "categories": [
            key_label(row["category"]) for row in categories["rows"] if row["total"] != "0.00"
        ],
        "months": with_month_before(sorted(row["month"] for row in months["rows"])),
    }


def with_month_before(months: list[str]) -> list[str]:
    """The cumulative line starts at zero the month before the first."""
    if not months:
        return []
    year, month = map(int, months[0].split("-"))
    before = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    return [before, *months]


def wait_for(page, query: str) -> None:
    page.wait_for_selector(
        f'#headline[data-state="ready"][data-query="{query}"]', state="attached", timeout=15000
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_dashboard_shows_the_api_figures(rates_kept, page, live_server):
    call_command("load_reference_data", verbosity=0)  # fixtures, and rates if flushed before
    base = live_server.url
    page.goto(base + "/")
    wait_for(page, "currency=EUR")
    before = shown(page)
    assert before == expected(base)
    assert before["total"] != "0.00"
    assert "United Kingdom" in before["chart"]

    screenshot = os.environ.get("DASHBOARD_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)

    page.select_option("#currency", "USD")
    wait_for(page, "currency=USD")
    in_usd = shown(page)
    assert in_usd == expected(base, currency="USD")
    assert in_usd["total"] != before["total"]

    page.select_option("#category", "drones")
    wait_for(page, "currency=USD&category=drones")
    assert shown(page) == expected(base, currency="USD", category="drones")

    page.fill("#date_from", "2025-06-05")
    page.dispatch_event("#date_from", "change")
    wait_for(page, "date_from=2025-06-05&currency=USD&category=drones")
    assert shown(page) == expected(base, currency="USD", category="drones", date_from="2025-06-05")

    page.select_option("#status", "cancelled")
    wait_for(page, "date_from=2025-06-05&currency=USD&status=cancelled&category=drones")
    assert shown(page) == expected(
        base, currency="USD", category="drones", date_from="2025-06-05", status="cancelled"
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_dashboard_shows_a_bad_filter_as_an_error(rates_kept, page, live_server):
    page.goto(live_server.url + "/")
    wait_for(page, "currency=EUR")
    page.fill("#date_from", "2025-06-05")
    page.evaluate("document.getElementById('date_from').type = 'text'")
    page.fill("#date_from", "not a date")
    page.dispatch_event("#date_from", "change")
    page.wait_for_selector('#headline[data-state="error"]', state="attached", timeout=15000)
    assert "date_from" in page.inner_text("#error")
