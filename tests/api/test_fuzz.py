"""Proven by machine: schemathesis generates requests from the API's own OpenAPI
schema (valid and invalid ones) for every operation, sends them, authenticated as a superuser,
to the site running in a real server process on the test database, and checks that no answer
is a 5xx, that every answer's status code is one the schema lists for the operation, and that
every answer's body matches the schema.

Four in five of the ids it puts in paths are ids of stored rows (the reference data's pledges,
donors, categories and events, and a delivery record), so that reads, changes and deletions of
stored rows are tried too, not only 404s.

The seed is fixed and the number of cases per operation bounded (5, beside the coverage
phase's systematic cases for every operation), so the run is the same every time and fits CI.
A longer run (see the README) raises the bound:

    FUZZ_MAX_EXAMPLES=300 python3 dev.py test tests/api/test_fuzz.py -s
"""

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from pledges.models import Category, Donor, Event, Fulfilment, Pledge
from tests.factories import add_record
from tests.servers import gunicorn

# Transactional: the server process must see the data this test commits, and whatever the
# fuzzer writes is flushed afterwards.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DRONES = "udcg-2025-06-gb-drones"  # a reference pledge with an amount and one item
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
SEED = "20250604"


# The resources with ids in their paths, and the rows behind them.
STORED = {
    "pledges": Pledge,
    "fulfilments": Fulfilment,
    "donors": Donor,
    "categories": Category,
    "events": Event,
}


def offer_existing_ids(directory) -> None:
    """A schemathesis.toml in ``directory`` (where schemathesis runs) binding the ``id`` in each
    resource's paths to the ids of its stored rows four times in five; the fifth stays
    generated."""
    lines = []
    for resource, model in STORED.items():
        ids = [str(pk) for pk in model.objects.order_by("pk").values_list("pk", flat=True)]
        lines += [
            f"[dictionaries.{resource}]",
            f"values = {json.dumps(ids)}",
            "[[operations]]",
            f'include-path-regex = "^/api/v1/{resource}/{{id}}/"',
            f'parameters = {{ "path.id" = {{ dictionary = "{resource}", probability = 0.8 }} }}',
        ]
    (directory / "schemathesis.toml").write_text("\n".join(lines) + "\n")


def schemathesis_run(base_url: str, token: str, report_dir) -> subprocess.CompletedProcess:
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/api/v1/schema/"),
        *("--checks", CHECKS, "--seed", SEED, "--workers", "1"),
        *("--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "5")),
        *("--generation-database", "none", "--no-color", "--request-timeout", "60"),
        *("--header", f"Authorization: Token {token}"),
        *("--report", "json", "--report-dir", str(report_dir)),
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=report_dir)


def test_the_fuzzer_finds_nothing(rates_kept, tmp_path):
    # As a site holds them: with their derived values (loaddata alone leaves them empty).
    call_command("load_reference_data", verbosity=0)
    drones = Pledge.objects.get(external_ref=DRONES)
    add_record(drones, amount=Decimal("1000000.00"), items=[(drones.items.get(), 100)])
    offer_existing_ids(tmp_path)
    user = User.objects.create_superuser("fuzzer", "fuzzer@example.org", "not-used-here")
    token = Token.objects.create(user=user).key
    # The fuzzer checks the application's answers: gunicorn's own 414 for a request line over
    # 4094 bytes, a limit of the server in front of it, is lifted here.
    env = {
        "DEBUG": "1",
        "API_ANON_THROTTLE_RATE": "100000/minute",
        "REDIS_URL": "",
        "GUNICORN_CMD_ARGS": "--limit-request-line 0",
    }
    with gunicorn(env) as base_url:
        run = schemathesis_run(base_url, token, tmp_path)
    [report_file] = tmp_path.glob("*.json")
    report = json.loads(report_file.read_text())
    cases = report["test_cases"]["generated"]
    print(f"\nschemathesis: {cases} cases, {report['running_time']:.0f} s, exit {run.returncode}")
    assert run.returncode == 0, run.stdout[-20000:]
    assert report["operations"]["tested"] == report["operations"]["total"] >= 28
    assert report["failures"] == []
    assert report["errors"] == []
    # Reading and changing stored rows reached them: no such operation answered 404 every time.
    never_found = report["warnings"]["missing_test_data"]
    assert not [op for op in never_found if op.startswith(("GET", "PATCH"))], never_found
    assert cases >= 1000
