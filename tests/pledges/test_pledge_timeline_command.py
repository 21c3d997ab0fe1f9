"""``manage.py pledge_timeline``: the API's timeline on the command line."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.timeline_scenario import (
    MONTHS,
    timeline_pledges_fixture,  # noqa: F401 - the scenario fixture
)


def run(*args) -> str:
    out = io.StringIO()
    call_command("pledge_timeline", *args, stdout=out)
    return out.getvalue()


def api(**params) -> dict:
    response = APIClient().get("/api/v1/reports/timeline/", params, HTTP_ACCEPT="application/json")
    return response.json()


def test_json_is_the_api_timeline(timeline_pledges):
    donor = str(timeline_pledges["alpha"].donor_id)
    for args, params in [
        ((), {}),
        (
            ("--interval", "quarter", "--group-by", "donor", "--currency", "gbp"),
            {"interval": "quarter", "group_by": "donor", "currency": "gbp"},
        ),
        (
            ("--interval", "year", "--donor", donor, "--delivery", "partial", "--delivery", "full"),
            {"interval": "year", "donor": donor, "delivery": ["partial", "full"]},
        ),
        (("--status", "cancelled"), {"status": "cancelled"}),
    ]:
        assert json.loads(run("--format", "json", *args)) == api(**params)


def test_csv_and_table(timeline_pledges):
    rows = list(csv.DictReader(io.StringIO(run("--format", "csv"))))
    assert [(r["period"], r["pledged"], r["allocated"], r["delivered"]) for r in rows] == MONTHS
    lines = run("--interval", "year", "--group-by", "donor").splitlines()
    assert lines[0] == "Pledged, allocated and delivered in EUR by donor"
    assert lines[1].split() == [
        "period",
        "donor",
        "pledged",
        "allocated",
        "delivered",
        "cumulative_pledged",
        "cumulative_allocated",
        "cumulative_delivered",
    ]
    figures = ["1,200,000.00", "1,100,000.00", "700,000.00"]
    assert lines[3].split() == ["2025", "Alpha", *figures, *figures]
    assert lines[-1].split()[:2] == ["2026", "Beta"]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--interval", "week"), "--interval"),
        (("--group-by", "donor,category"), "--group-by"),
        (("--currency", "XYZ"), "--currency"),
        (("--format", "xml"), "--format"),
        (("--delivery", "most"), "--delivery"),
        (("--date-from", "2025-02-30"), "--date-from"),
    ],
)
def test_bad_options_are_named(db, args, option):
    with pytest.raises(CommandError, match=f"^{option}: "):
        run(*args)
