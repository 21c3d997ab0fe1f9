"""``manage.py pledge_report``: the API's reports on the command line."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.report_scenario import (
    BELGIUM_EUR,
    DRONES_EUR,
    NORWAY_EUR,
    REMAINDER_EUR,
    TOTAL_EUR,
    TRAINING_EUR,
    scenario_fixture,  # noqa: F401 - the scenario fixture
)


def run(*args) -> str:
    out = io.StringIO()
    call_command("pledge_report", *args, stdout=out)
    return out.getvalue()


def api(**params) -> dict:
    return APIClient().get("/api/v1/reports/totals/", params, HTTP_ACCEPT="application/json").json()


def test_json_is_the_api_report(scenario):
    for args, params in [
        ((), {}),
        (
            ("--group-by", "donor,category", "--currency", "usd"),
            {"group_by": "donor,category", "currency": "usd"},
        ),
        (
            ("--group-by", "year", "--allocation", "period"),
            {"group_by": "year", "allocation": "period"},
        ),
        (
            ("--status", "cancelled", "--status", "announced"),
            {"status": ["cancelled", "announced"]},
        ),
    ]:
        assert json.loads(run("--format", "json", *args)) == api(**params)


def test_csv(scenario):
    rows = list(csv.DictReader(io.StringIO(run("--format", "csv", "--group-by", "category"))))
    totals = {row["category"]: row["total"] for row in rows}
    assert totals == {
        "Other": str(REMAINDER_EUR + BELGIUM_EUR + NORWAY_EUR),
        "Drones": str(DRONES_EUR),
        "Training": str(TRAINING_EUR),
    }


def test_table_shows_rows_and_the_overall_line(scenario):
    lines = run("--group-by", "donor").splitlines()
    assert lines[0] == "Totals in EUR (announcement allocation)"
    assert lines[1].split() == [
        "donor",
        "total",
        "pledges",
        "unvalued",
        "unconverted",
        "reannounced",
        "allocated",
        "delivered",
        "outstanding",
    ]
    belgium = ["5,000,000,000.00", "1", "0", "0", "0", "0.00", "0.00", "5,000,000,000.00"]
    assert lines[3].split() == ["Belgium", *belgium]
    norway = f"{NORWAY_EUR:,.2f}"
    outstanding = f"{TOTAL_EUR - NORWAY_EUR:,.2f}"
    overall = [f"{TOTAL_EUR:,.2f}", "8", "2", "1", "0", norway, norway, outstanding]
    assert lines[-1].split() == ["All", *overall]


def test_filters(scenario):
    out = json.loads(
        run(
            "--format",
            "json",
            "--category",
            "other",
            "--category",
            "drones",
            "--donor",
            str(scenario["package"].donor_id),
            "--date-from",
            "2025-01-01",
            "--date-to",
            "2025-12-31",
            "--pledge-currency",
            "gbp",
            "--recipient",
            "ua",
            "--event",
            str(scenario["package"].event_id),
        )
    )
    assert out["total"] == str(REMAINDER_EUR + DRONES_EUR)
    assert out["pledges"] == 2
    search = json.loads(run("--format", "json", "--search", scenario["norway"].title))
    assert search["total"] == str(NORWAY_EUR)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--group-by", "colour"), "--group-by"),
        (("--currency", "XYZ"), "--currency"),
        (("--allocation", "period"), "--allocation"),
        (("--format", "xml"), "--format"),
        (("--donor", "999999"), "--donor"),
        (("--category", "nope"), "--category"),
        (("--status", "lost"), "--status"),
        (("--date-from", "2025-02-30"), "--date-from"),
        (("--pledge-currency", "XX"), "--pledge-currency"),
    ],
)
def test_bad_options_are_named(db, args, option):
    with pytest.raises(CommandError, match=f"^{option}: "):
        run(*args)
