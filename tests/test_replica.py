"""Read replicas: the router's choices, and a real streaming replica."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.test import RequestFactory

from config.replicas import PrimaryForWritesMiddleware, PrimaryReplicaRouter
from pledges.models import Donor

ROOT = Path(__file__).resolve().parent.parent
PRIMARY = os.environ.get("TEST_PRIMARY_URL", "postgres://postgres@127.0.0.1:5432")
REPLICA = os.environ.get("TEST_REPLICA_URL", "postgres://postgres@127.0.0.1:5433")
router = PrimaryReplicaRouter()
pytestmark = pytest.mark.django_db


def reads_during(method: str, path: str, *, write: bool = False) -> str:
    seen = []

    def view(request):
        if write:
            router.db_for_write(Donor)
        seen.append(router.db_for_read(Donor))

    PrimaryForWritesMiddleware(view)(RequestFactory().generic(method, path))
    return seen[0]


@pytest.mark.parametrize(
    "method, path, write, database",
    [
        ("GET", "/api/v1/pledges/", False, "replica"),
        ("HEAD", "/api/v1/reports/totals/", False, "replica"),
        ("GET", "/api/v1/pledges/", True, "default"),
        ("POST", "/api/v1/pledges/", False, "default"),
        ("PUT", "/api/v1/pledges/1/", False, "default"),
        ("PATCH", "/api/v1/pledges/1/", False, "default"),
        ("DELETE", "/api/v1/pledges/1/", False, "default"),
        ("GET", "/admin/pledges/pledge/", False, "default"),
    ],
)
def test_reads_go_to_the_replica_unless_the_request_writes_or_is_the_admin(
    method, path, write, database
):
    assert reads_during(method, path, write=write) == database
    # Each request starts afresh.
    assert reads_during("GET", "/api/v1/donors/") == "replica"


def test_writes_and_migrations_go_to_the_primary():
    assert router.db_for_write(Donor) == "default"
    assert router.allow_migrate("default", "pledges")
    assert not router.allow_migrate("replica", "pledges")


def connect(url: str, dbname: str = "postgres"):
    try:
        return psycopg2.connect(f"{url}/{dbname}", connect_timeout=3)
    except psycopg2.OperationalError:
        return None


def test_a_real_streaming_replica_serves_the_reads(tmp_path):
    primary, replica = connect(PRIMARY), connect(REPLICA)
    if primary is None or replica is None:
        pytest.skip(
            f"No PostgreSQL primary at {PRIMARY} with a replica at {REPLICA}: start one with "
            "`bash scripts/replica.sh` (as root, Debian cluster tools), as .ci/run does."
        )
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        if not cursor.fetchone()[0]:
            pytest.skip(f"{REPLICA} is not a standby: `bash scripts/replica.sh` makes one.")
    replica.close()
    name = f"pledges_replica_probe_{os.getpid()}"
    primary.autocommit = True
    with primary.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"{PRIMARY}/{name}",
        "DATABASE_REPLICA_URL": f"{REPLICA}/{name}",
        "CONN_MAX_AGE": "0",
    }
    env.pop("REDIS_URL", None)
    try:
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
        probe = (ROOT / "tests" / "replica_probe.py").read_text()
        result = subprocess.run(
            [*manage, "shell", "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip().endswith("OK"), result.stdout
    finally:
        with primary.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        primary.close()
