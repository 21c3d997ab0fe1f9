"""The dashboard page itself (its figures are checked in a browser, test_dashboard_browser)."""

from pathlib import Path

from django.conf import settings

VENDOR = Path(settings.BASE_DIR) / "pledges/static/pledges/vendor/chart.umd.min.js"


def test_page_serves_its_own_chart_library(client, reference_data, django_assert_max_num_queries):
    # The latest rate date, the currencies, the categories, the donors and the events with
    # pledges (and the session's own look-ups): a fixed number, whatever the data.
    with django_assert_max_num_queries(7):
        response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<script src="/static/pledges/vendor/chart.umd.min.js">' in page
    assert "https://" not in page.split("<body>")[0]  # no stylesheet or font from elsewhere
    assert 'src="http' not in page
    assert '<option value="drones">Drones</option>' in page
    assert '<option value="50">United Kingdom</option>' in page
    assert '<option value="3">Austria</option>' not in page  # no pledge of Austria
    assert '<option value="6">UDCG meeting, NATO headquarters (4 Jun 2025)</option>' in page
    assert '<option value="EUR" selected>EUR</option>' in page
    assert '<option value="USD">USD</option>' in page
    assert "RUB" not in page  # the ECB stopped publishing it in 2022


def test_vendored_chart_js_keeps_its_licence_header():
    assert VENDOR.read_text()[:80].startswith("/*!\n * Chart.js v4")
    assert "Released under the MIT License" in VENDOR.read_text()[:300]
