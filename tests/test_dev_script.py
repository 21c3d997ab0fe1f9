"""``python3 dev.py``, the README's first command: the port it serves on, and a busy port told at
once, before any install or migration."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # dev.py in processes of its own


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dev_env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env.update(extra)
    return env


@pytest.fixture
def busy_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["serve", "{port}"], {}),
        (["--port", "{port}"], {}),
        (["serve", "--port", "{port}"], {}),
        ([], {"PORT": "{port}"}),
    ],
)
def test_a_busy_port_is_named_before_anything_is_done(tmp_path, busy_port, args, env):
    args = [arg.format(port=busy_port) for arg in args]
    env = {name: value.format(port=busy_port) for name, value in env.items()}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "dev.py", *args],
        cwd=ROOT,
        env=dev_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"Port {busy_port} on 127.0.0.1 is already in use" in done.stderr
    assert f"python3 dev.py serve {busy_port + 1}" in done.stderr
    assert "PORT=" in done.stderr
    # Nothing was done: no migration ran, so no database file was made.
    assert not (tmp_path / "db.sqlite3").exists()
    assert "migrat" not in done.stdout.lower()
    assert time.monotonic() - started < 30  # not a timing goal: a hang would fail here


@pytest.mark.parametrize("bad", ["abc", "0", "70000", "-1"])
def test_a_port_that_is_no_port_is_refused(tmp_path, bad):
    done = subprocess.run(
        [sys.executable, "dev.py", "serve", "--port", bad],
        cwd=ROOT,
        env=dev_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "is not a port number" in done.stderr
    assert not (tmp_path / "db.sqlite3").exists()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A directory with a migrated SQLite file holding a category, so that
    ``load_reference_data --if-empty`` (which would load 220,000 ECB rates) has nothing to do."""
    tmp_path = tmp_path_factory.mktemp("served")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=dev_env(tmp_path, DEBUG="1"),
        check=True,
        timeout=300,
    )
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("INSERT INTO pledges_category (slug, name, description) VALUES ('x', 'X', '')")
    return tmp_path


def wait_for_health(port: int, server: subprocess.Popen) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                return answer.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"nothing answered on port {port}")


@pytest.mark.parametrize("how", ["argument", "option", "environment"])
def test_the_site_is_served_on_the_port_asked_for(migrated, how):
    port = free_port()
    args = {"argument": ["serve", str(port)], "option": ["--port", str(port)], "environment": []}
    env = dev_env(migrated, PORT=str(port)) if how == "environment" else dev_env(migrated)
    server = subprocess.Popen(
        [sys.executable, "dev.py", *args[how]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert wait_for_health(port, server) == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert f"The site is starting on http://127.0.0.1:{port}/" in output
