"""Swagger UI renders the API in a real (headless) browser that may not reach the internet."""

import shutil
import threading

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

# Transactional: the server thread must not wait on a transaction held open by the test.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(rates_kept):
    """The site on a free local port, in a thread (static files served as in development)."""
    httpd = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    httpd.set_app(StaticFilesHandler(WSGIHandler()))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_swagger_ui_works_offline(server):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    outside = []

    def only_local(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_local)
            page.goto(f"{server}/api/v1/docs/")
            page.wait_for_selector("text=/api/v1/pledges/{id}/history/", timeout=20000)
            assert page.locator(".opblock").count() >= 20
            assert page.locator("text=Military aid pledges API").count() >= 1
        finally:
            browser.close()
    assert outside == []
