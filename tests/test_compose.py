"""The web service of docker-compose.yml, run here under gunicorn with the same environment
(there is no container engine in the test run): out of the box it serves plain
http://localhost, and the admin sign-in works there; ``check --deploy`` is clean both that way
and with HTTPS=1, where http is redirected to https and cookies are secure-only."""

import http.cookiejar
import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.servers import ROOT, gunicorn

PASSWORD = "a-long-local-password-1"
pytestmark = pytest.mark.slow  # server processes


def compose_environment(**given: str) -> dict[str, str]:
    """The web service's environment, ${NAME:-default} and ${NAME:?} resolved from ``given``."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    resolved = {}
    for name, value in compose["services"]["web"]["environment"].items():
        resolved[name] = re.sub(
            r"\$\{(\w+)(?::([-?])([^}]*))?\}",
            lambda m: given.get(m[1], m[3] if m[2] == "-" else ""),
            str(value),
        )
    return resolved


@pytest.fixture(scope="module")
def compose_env(tmp_path_factory):
    """Compose's settings, on an SQLite file of its own with a superuser (no db service here),
    set up once for the tests of this module (each serves it with its own gunicorn)."""
    tmp_path = tmp_path_factory.mktemp("compose")
    env = compose_environment(SECRET_KEY=secrets.token_urlsafe(50), POSTGRES_PASSWORD="x")
    # Static files of its own too: each parallel worker that runs a test of this module makes
    # this fixture, and two collectstatic runs into one directory broke each other's files.
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}",
        REDIS_URL="",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    environment = {**os.environ, **env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
    for command in (
        ["migrate", "--no-input", "-v0"],
        ["createsuperuser", "--no-input", "--username", "admin", "--email", "a@example.org"],
        ["collectstatic", "--no-input", "-v0"],  # as the image is built
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=environment, check=True
        )
    return env


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_compose_serves_plain_http_and_the_admin_sign_in_works(compose_env):
    assert compose_env["DEBUG"] == "0"
    assert compose_env["HTTPS"] == "0"
    cookies = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), NoRedirect())
    with gunicorn(compose_env) as base_url:
        base_url = base_url.replace("127.0.0.1", "localhost")
        page = browser.open(f"{base_url}/admin/login/?next=/admin/")
        assert page.status == 200  # not redirected to https
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())
        form = {"username": "admin", "password": PASSWORD, "next": "/admin/"}
        form["csrfmiddlewaretoken"] = token[1]
        try:
            browser.open(f"{base_url}/admin/login/", urllib.parse.urlencode(form).encode())
            raise AssertionError("the sign-in did not redirect")
        except urllib.error.HTTPError as answer:
            assert answer.code == 302
            assert answer.headers["Location"] == "/admin/"
        assert {cookie.name: cookie.secure for cookie in cookies} == {
            "csrftoken": False,
            "sessionid": False,
        }
        assert browser.open(f"{base_url}/admin/").status == 200  # signed in
    assert check_deploy(compose_env).returncode == 0


def test_behind_a_tls_proxy_http_is_redirected_and_cookies_are_secure(compose_env):
    # The proxy's X-Forwarded-Proto is trusted only when SECURE_PROXY_SSL_HEADER says so.
    env = {**compose_env, "HTTPS": "1", "SECURE_PROXY_SSL_HEADER": "1"}
    result = check_deploy(env)
    assert result.returncode == 0, result.stderr
    with gunicorn(env) as base_url:
        browser = urllib.request.build_opener(NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as answer:
            browser.open(f"{base_url}/admin/login/")
        assert answer.value.code == 301
        assert answer.value.headers["Location"].startswith("https://")
        # The proxy says the request came over https: served, with secure-only cookies.
        request = urllib.request.Request(  # noqa: S310 (local http)
            f"{base_url}/admin/login/", headers={"X-Forwarded-Proto": "https"}
        )
        page = browser.open(request)
        assert page.status == 200
        assert "Secure" in page.headers["Set-Cookie"]
        assert "max-age=31536000" in page.headers["Strict-Transport-Security"]
