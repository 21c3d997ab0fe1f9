"""The dashboard in a real headless Chromium, driven by Playwright: the figures it
shows are the reports API's and its timeline's, before and after changing filters."""

import csv
import datetime as dt
import io
import json
import os
import urllib.parse
import urllib.request
from decimal import Decimal

import pytest
from django.core.management import call_command

from pledges.choices import FulfilmentKind
from pledges.counted import refresh_counted_values
from pledges.models import Fulfilment
from pledges.reports import key_label
from tests.browser import PHONE, overflow

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(browser):
    return browser.new_page(viewport={"width": 1280, "height": 1500})


def api(base: str, report: str = "totals", **params) -> dict:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}/api/v1/reports/{report}/?{query}") as response:  # noqa: S310
        return json.load(response)


def grouped(total: str) -> str:
    whole, cents = total.split(".")
    return f"{int(whole):,}.{cents}"


def shown(page) -> dict:
    """What the page shows: the headline figures, the donor table and chart (pledged and
    delivered), the categories and the timeline chart."""
    return page.evaluate(
        """() => ({
            total: document.getElementById("total").dataset.value,
            exact: document.getElementById("total-exact").textContent,
            delivered: document.getElementById("delivered").dataset.value,
            delivered_note: document.getElementById("delivered-note").textContent,
            pledges: document.getElementById("pledges").textContent,
            unvalued: document.getElementById("unvalued").textContent,
            unconverted: document.getElementById("unconverted").textContent,
            table: [...document.querySelectorAll("#donor-table tr[data-donor]")].map(
                (tr) => [tr.dataset.donor, tr.children[1].textContent,
                         ...[...tr.children].slice(2).map((td) => td.textContent)]),
            chart: Chart.getChart("donor-chart").data.labels,
            chart_figures: Chart.getChart("donor-chart").data.datasets.map(
                (dataset) => [dataset.label, dataset.data]),
            categories: Chart.getChart("category-chart").data.labels.map(
                (label) => label.split(": ")[0]),
            months: Chart.getChart("time-chart").data.labels,
            gap: Chart.getChart("time-chart").data.datasets.map(
                (dataset) => [dataset.label, dataset.data]),
        })"""
    )


def expected(base: str, **params) -> dict:
    donors = api(base, group_by="donor", **params)
    categories = api(base, group_by="category", **params)
    months = api(base, "timeline", interval="month", **params)
    currency = donors["currency"]
    charted = [row for row in donors["rows"] if row["total"] != "0.00"][:15]
    money = ("total", "allocated", "delivered", "outstanding")
    return {
        "total": donors["total"],
        "exact": f"{currency} {grouped(donors['total'])}",
        "delivered": donors["delivered"],
        "delivered_note": f"{currency} {grouped(donors['delivered'])} delivered; "
        f"{currency} {grouped(donors['allocated'])} allocated",
        "pledges": f"{donors['pledges']:,}",
        "unvalued": f"{donors['unvalued']:,}",
        "unconverted": f"{donors['unconverted']:,}",
        "table": [
            [
                key_label(row["donor"]),
                *(grouped(row[figure]) for figure in money),
                str(row["pledges"]),
                str(row["unvalued"]),
                str(row["unconverted"]),
            ]
            for row in donors["rows"]
        ],
        "chart": [key_label(row["donor"]) for row in charted],
        "chart_figures": [
            ["Pledged", [float(row["total"]) for row in charted]],
            ["Delivered", [float(row["delivered"]) for row in charted]],
        ],
        "categories": [
            key_label(row["category"]) for row in categories["rows"] if row["total"] != "0.00"
        ],
        # Only the months with something in them: no invented zero before the first.
        "months": [row["period"] for row in months["rows"]],
        "gap": [
            [label, [float(row[f"cumulative_{figure}"]) for row in months["rows"]]]
            for label, figure in (
                ("Pledged", "pledged"),
                ("Allocated", "allocated"),
                ("Delivered", "delivered"),
            )
        ],
    }


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


def add_records() -> None:
    """Records for some reference pledges: Germany's €5 billion (pledge 7) allocated, then
    delivered in two parts, the second in 2026; the UK's drones (pledge 2) partly delivered;
    Norway's $700 million (9) in full; Belgium's €1 billion a year (13) its first year."""
    made = [
        (7, FulfilmentKind.ALLOCATED, dt.date(2025, 7, 15), "3000000000"),
        (7, FulfilmentKind.DELIVERED, dt.date(2025, 9, 1), "1000000000"),
        (7, FulfilmentKind.DELIVERED, dt.date(2026, 1, 20), "1500000000"),
        (2, FulfilmentKind.DELIVERED, dt.date(2025, 10, 1), "100000000"),
        (9, FulfilmentKind.DELIVERED, dt.date(2025, 8, 10), "700000000"),
        (13, FulfilmentKind.DELIVERED, dt.date(2025, 12, 1), "1000000000"),
    ]
    for pk, kind, day, amount in made:
        Fulfilment.objects.create(pledge_id=pk, kind=kind, date=day, amount=Decimal(amount))
    refresh_counted_values(pk for pk, *_ in made)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pledged_against_delivered_by_donor_and_over_time(rates_kept, page, live_server):
    call_command("load_reference_data", verbosity=0)
    add_records()
    base = live_server.url
    page.goto(base + "/")
    wait_for(page, "currency=EUR")
    figures = shown(page)
    assert figures == expected(base)
    donors = dict(zip(figures["chart"], figures["chart_figures"][1][1], strict=True))
    assert donors["Germany"] == 2.5e9  # delivered; 3 billion allocated
    assert figures["months"][-1] == "2026-01"
    assert figures["gap"][2][1][-1] == float(figures["delivered"])

    screenshot = os.environ.get("DASHBOARD_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)

    # The filters apply to both: Germany alone, in dollars.
    choose(page, "#currency", "USD", "currency=USD")
    choose(page, "#donor", "16", "currency=USD&donor=16")
    germany = shown(page)
    assert germany == expected(base, currency="USD", donor=16)
    assert germany["months"] == ["2025-05", "2025-06", "2025-07", "2025-09", "2026-01"]


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


def open_with_reference_data(page, live_server, query: str = "") -> str:
    call_command("load_reference_data", verbosity=0)
    page.goto(f"{live_server.url}/{query}")
    return live_server.url


def choose(page, selector: str, value: str, query: str) -> None:
    page.select_option(selector, value)
    wait_for(page, query)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_filters_are_kept_in_the_address_and_a_shared_link_restores_them(
    rates_kept, browser, live_server
):
    page = browser.new_page(viewport={"width": 1280, "height": 1500})
    base = open_with_reference_data(page, live_server)
    wait_for(page, "currency=EUR")
    choose(page, "#currency", "USD", "currency=USD")
    choose(page, "#donor", "50", "currency=USD&donor=50")
    choose(page, "#category", "drones", "currency=USD&category=drones&donor=50")
    shared = page.url
    assert urllib.parse.urlsplit(shared).query == "currency=USD&category=drones&donor=50"
    figures = shown(page)
    assert figures == expected(base, currency="USD", category="drones", donor=50)

    # Someone opens the shared link: the same filters, the same figures.
    other = browser.new_page(viewport={"width": 1280, "height": 1500})
    other.goto(shared)
    wait_for(other, "currency=USD&category=drones&donor=50")
    assert other.eval_on_selector("#currency", "e => e.value") == "USD"
    assert other.eval_on_selector("#donor", "e => e.value") == "50"
    assert other.eval_on_selector("#category", "e => e.value") == "drones"
    assert shown(other) == figures

    # Reset: back to the defaults, in the address too.
    page.click("button.reset")
    wait_for(page, "currency=EUR")
    assert urllib.parse.urlsplit(page.url).query == "currency=EUR"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_donor_and_event_filters(rates_kept, page, live_server):
    base = open_with_reference_data(page, live_server)
    wait_for(page, "currency=EUR")
    choose(page, "#donor", "16", "currency=EUR&donor=16")
    germany = shown(page)
    assert germany == expected(base, donor=16)
    assert [row[0] for row in germany["table"]] == ["Germany"]
    choose(page, "#donor", "", "currency=EUR")
    choose(page, "#event", "6", "currency=EUR&event=6")
    assert shown(page) == expected(base, event=6)
    # Only donors and events with pledges are offered.
    offered = page.eval_on_selector_all("#donor option", "os => os.map((o) => o.textContent)")
    assert offered[0] == "All donors"
    assert "Austria" not in offered
    assert "United Kingdom" in offered


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_empty_result_says_so_instead_of_empty_charts(rates_kept, page, live_server):
    open_with_reference_data(page, live_server, "?date_from=2030-01-01")
    wait_for(page, "date_from=2030-01-01&currency=EUR")
    assert page.is_visible("#empty")
    assert "No pledges match these filters" in page.inner_text("#empty")
    assert not page.is_visible(".grid")
    page.fill("#date_from", "")
    page.dispatch_event("#date_from", "change")
    wait_for(page, "currency=EUR")
    assert not page.is_visible("#empty")
    assert page.is_visible(".grid")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_plain_words_a_doughnut_with_values_and_shares_and_a_single_month_as_a_point(
    rates_kept, page, live_server
):
    base = open_with_reference_data(page, live_server)
    wait_for(page, "currency=EUR")
    text = page.inner_text("body")
    for jargon in ("Unvalued", "Unconverted", "Not convertible"):
        assert jargon not in text
    assert "Without an amount" in text
    assert "In a currency without ECB rates" in text

    categories = api(base, group_by="category")
    total = float(categories["total"])
    rows = [row for row in categories["rows"] if row["total"] != "0.00"]
    labels = page.evaluate('Chart.getChart("category-chart").data.labels')
    assert len(labels) == len(rows)
    for label, row in zip(labels, rows, strict=True):
        share = 100 * float(row["total"]) / total
        expected_share = f"{share:.1f} %" if share < 1 else f"{round(share)} %"
        assert label.startswith(f"{row['category']['name']}: €"), label
        assert label.endswith(f"({expected_share})"), label

    # The reference pledges of June 2025 alone: their month first, with what was pledged in
    # it, no rise from an invented zero.
    page.goto(f"{base}/?date_from=2025-06-01")
    wait_for(page, "date_from=2025-06-01&currency=EUR")
    chart = page.evaluate(
        '(() => { const c = Chart.getChart("time-chart");'
        " return { labels: c.data.labels, data: c.data.datasets[0].data }; })()"
    )
    timeline = api(base, "timeline", interval="month", date_from="2025-06-01")["rows"]
    assert chart["labels"] == [row["period"] for row in timeline]
    assert chart["labels"][0] == "2025-06"
    june = float(api(base, group_by="month", date_from="2025-06-01")["total"])
    assert chart["data"][0] == june > 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_csv_link_downloads_what_is_shown(rates_kept, page, live_server):
    open_with_reference_data(page, live_server)
    wait_for(page, "currency=EUR")
    choose(page, "#currency", "GBP", "currency=GBP")
    choose(page, "#category", "drones", "currency=GBP&category=drones")
    href = page.eval_on_selector("#csv-link", "a => a.href")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)
    assert query == {
        "currency": ["GBP"],
        "category": ["drones"],
        "group_by": ["donor"],
        "format": ["csv"],
    }
    with urllib.request.urlopen(href) as response:  # noqa: S310
        rows = list(csv.reader(io.StringIO(response.read().decode())))
    table = shown(page)["table"]
    assert [row[0] for row in rows[1:]] == [row[0] for row in table]
    assert [grouped(row[1]) for row in rows[1:]] == [row[1] for row in table]
    units = page.eval_on_selector_all(".figures .unit", "us => us.map((u) => u.textContent)")
    assert units == ["(GBP)"] * 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_horizontal_scroll_on_a_phone(rates_kept, browser, live_server):
    page = browser.new_page(viewport=PHONE)
    open_with_reference_data(page, live_server, "?event=6")
    wait_for(page, "currency=EUR&event=6")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter((e) =>"
        " e.getBoundingClientRect().right > window.innerWidth + 0.5)"
        ".map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)"
    )
    assert overflow(page) == 0, wide
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        phone = os.environ["DASHBOARD_SCREENSHOT"].replace(".png", "-phone.png")
        page.screenshot(path=phone, full_page=True)
