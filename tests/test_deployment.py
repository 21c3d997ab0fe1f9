"""What the image and the production settings let through: .dockerignore keeps secrets and
databases out, the proxy header and HSTS's reach are opt-in, ``check --deploy`` is clean, and
gunicorn's workers stream a long export whole."""

import os
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def docker_pattern(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker reads it (moby/patternmatcher): matched against the
    whole path from the context's root; ``**`` any number of folders, ``*`` and ``?`` within
    one; a leading / means nothing."""
    pattern = os.path.normpath(pattern.strip()).lstrip("/")
    regex, index = "^", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            regex, index = regex + "(.*/)?", index + 3
            continue
        if pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
            continue
        regex += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        index += 1
    return re.compile(regex + "$")


def excluded(path: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    """Whether Docker leaves ``path`` out: the last rule matching it or a parent folder wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for exclude, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            result = exclude
    return result


def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    rules = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            exclude = not line.startswith("!")
            rules.append((exclude, docker_pattern(line.removeprefix("!"))))
    return rules


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.production",
        "config/.env",
        "deploy/prod.env",
        "db.sqlite3",
        "db.sqlite3-wal",
        ".test-db.sqlite3",
        ".test-db.sqlite3-shm",
        "backups/old.sqlite3",
        ".venv/bin/python",
        "api/.venv/lib/x.py",
        ".git",
        ".git/HEAD",
        "pledges/__pycache__/models.cpython-311.pyc",
        "staticfiles/admin/css/base.css",
    ],
)
def test_dockerignore_keeps_out(path):
    assert excluded(path, dockerignore_rules())


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "pyproject.toml",
        "gunicorn.conf.py",
        "config/settings.py",
        "pledges/static/pledges/dashboard.js",
        "pledges/templates/pledges/dashboard.html",
        "api/templates/api/swagger_ui.html",
        "fixtures/pledges.json",
        "pledges/migrations/0001_initial.py",
    ],
)
def test_dockerignore_lets_the_code_in(path):
    assert not excluded(path, dockerignore_rules())


def test_the_matcher_reads_docker_rules():
    """Docker, unlike git, anchors a pattern at the root: ``.env`` is not ``config/.env``."""
    assert excluded(".env", [(True, docker_pattern(".env"))])
    assert not excluded("config/.env", [(True, docker_pattern(".env"))])
    assert excluded("config/.env", [(True, docker_pattern("**/.env"))])
    assert excluded("a/b/c.pyc", [(True, docker_pattern("**/*.pyc"))])
    assert not excluded("a/b.pyc", [(True, docker_pattern("*.pyc"))])
    assert not excluded("x.csv", [(True, docker_pattern("*.csv")), (False, docker_pattern("x*"))])


def production_settings(**env: str) -> dict:
    """Settings of a production process (DEBUG off) with ``env`` set."""
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({name: getattr(s, name, None) for name in ["
        "'SECURE_PROXY_SSL_HEADER', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
        "'SECURE_HSTS_SECONDS', 'SILENCED_SYSTEM_CHECKS']}))"
    )
    environ = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_proxy_header_and_hsts_reach_are_opt_in():
    default = production_settings()
    assert default["SECURE_PROXY_SSL_HEADER"] is None
    assert default["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert default["SECURE_HSTS_PRELOAD"] is False
    assert default["SECURE_HSTS_SECONDS"] == 31536000
    chosen = production_settings(
        SECURE_PROXY_SSL_HEADER="1", SECURE_HSTS_INCLUDE_SUBDOMAINS="1", SECURE_HSTS_PRELOAD="1"
    )
    assert chosen["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert chosen["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert chosen["SECURE_HSTS_PRELOAD"] is True
    assert chosen["SILENCED_SYSTEM_CHECKS"] == []


def test_the_proxy_header_is_not_trusted_by_default(client, settings, db):
    """A client claiming https in X-Forwarded-Proto is still on plain http."""
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/api/v1/donors/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.parametrize(
    "env", [{}, {"SECURE_HSTS_PRELOAD": "1", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1"}]
)
def test_check_deploy_is_clean(env):
    environ = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_gunicorn_streams_long_exports_whole():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread"
    assert config["threads"] >= 2
    assert config["timeout"] >= 60
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "gunicorn -c gunicorn.conf.py config.wsgi:application" in dockerfile
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--check-config",
            "-c",
            "gunicorn.conf.py",
            "config.wsgi:application",
        ],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DEBUG": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
