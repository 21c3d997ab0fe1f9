"""Import of the provenance columns: ``confidence``, ``reannounces_ref`` (which may name a row
later in the file) and the source keys; every bad value refused with its row and column, and
nothing written."""

import json

import pytest
from django.core.management import call_command

from pledges.importing import import_file
from pledges.models import Pledge, Source
from tests.pledges.test_import_export import csv_file, errors_of, row

CITATION = {"publisher": "Euromaidan Press", "title": "Ramstein", "published_on": "2025-06-05"}


@pytest.fixture
def reference_only(db):
    """Categories, donors and events of the fixtures, and no pledge."""
    call_command("loaddata", "categories", "donors", "events", verbosity=0)


def pledge_row(ref, day="2025-06-04", **values):
    return row(ref, **{"announced_on": day, "sources": json.dumps([CITATION]), **values})


def stored() -> tuple:
    return (Pledge.objects.count(), Source.objects.count(), Pledge.history.count())


def test_a_re_announcement_may_name_a_row_further_down(reference_only):
    rows = [
        pledge_row("again-2", reannounces_ref="again-1", confidence="estimated"),
        pledge_row("again-1", reannounces_ref="first"),
        pledge_row("first", day="2025-05-28"),
    ]
    report = import_file(csv_file(rows), "csv")
    assert not report.errors, [str(e) for e in report.errors]
    chain = {p.external_ref: p for p in Pledge.objects.select_related("reannounces")}
    assert chain["again-2"].reannounces.external_ref == "again-1"
    assert chain["again-1"].reannounces.external_ref == "first"
    assert chain["first"].reannounces is None
    assert chain["again-2"].confidence == "estimated"
    assert chain["first"].confidence == "reported"  # an empty cell is the default
    source = chain["first"].sources.get()
    assert (source.url, source.kind, source.title) == ("", "other", "Ramstein")
    # The same file again changes nothing.
    history = stored()
    report = import_file(csv_file(rows), "csv")
    assert report.count("skip") == 3
    assert stored() == history


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([pledge_row("a", reannounces_ref="nowhere")], {(2, "reannounces_ref")}),
        ([pledge_row("a", reannounces_ref="a")], {(2, "reannounces_ref")}),
        (
            [pledge_row("a", reannounces_ref="b"), pledge_row("b", reannounces_ref="a")],
            {(2, "reannounces_ref"), (3, "reannounces_ref")},
        ),
        (
            [pledge_row("a", reannounces_ref="b"), pledge_row("b", day="2025-06-05")],
            {(2, "reannounces_ref")},
        ),
        (
            [pledge_row("a", reannounces_ref="b"), pledge_row("b", donor="Canada")],
            {(2, "reannounces_ref")},
        ),
        (
            [pledge_row("a", reannounces_ref="b"), pledge_row("b", status="lost")],
            {(2, "reannounces_ref"), (3, "status")},
        ),
        ([pledge_row("a", confidence="rumoured")], {(2, "confidence")}),
        ([pledge_row("a", confidence="confirmed")], {(2, "confidence")}),
        (
            [pledge_row("a", sources=json.dumps([{"publisher": "P"}]))],
            {(2, "sources[1].title"), (2, "sources[1].published_on")},
        ),
        (
            [pledge_row("a", sources=json.dumps([{**CITATION, "kind": "x"}]))],
            {(2, "sources[1].kind")},
        ),
        (
            [pledge_row("a", sources=json.dumps([{**CITATION, "accessed_on": "2025-01-01"}]))],
            {(2, "sources[1].accessed_on")},
        ),
        (
            [pledge_row("a", sources=json.dumps([{**CITATION, "archived_url": "ftp://x.org"}]))],
            {(2, "sources[1].archived_url")},
        ),
    ],
)
def test_bad_provenance_cells_are_refused_with_row_and_column(reference_only, rows, expected):
    report = import_file(csv_file(rows), "csv")
    assert errors_of(report) == expected, [str(e) for e in report.errors]
    assert stored() == (0, 0, 0)


def test_confirmed_with_an_official_source(reference_only):
    official = {**CITATION, "url": "https://www.bmvg.de/x", "kind": "official"}
    rows = [pledge_row("a", confidence="confirmed", sources=json.dumps([official]))]
    report = import_file(csv_file(rows), "csv")
    assert not report.errors
    assert Pledge.objects.get().confidence == "confirmed"


def test_an_update_keeps_a_re_announced_pledge_before_its_re_announcements(reference_only):
    rows = [pledge_row("first", day="2025-05-28"), pledge_row("again", reannounces_ref="first")]
    assert not import_file(csv_file(rows), "csv").errors
    before = stored()
    moved = [pledge_row("first", day="2025-06-05"), rows[1]]
    assert errors_of(import_file(csv_file(moved), "csv")) == {(2, "announced_on")}
    other_donor = [pledge_row("first", day="2025-05-28", donor="Canada"), rows[1]]
    report = import_file(csv_file(other_donor), "csv")
    assert (2, "donor") in errors_of(report)
    assert stored() == before
    assert Pledge.objects.get(external_ref="first").announced_on.isoformat() == "2025-05-28"


def test_a_long_chain_of_re_announcements_in_one_file(reference_only):
    """Each row re-announces the next one: 1,200 strata, and no recursion limit."""
    count = 1200
    rows = [pledge_row(f"p{n}", reannounces_ref=f"p{n + 1}") for n in range(count - 1)]
    rows.append(pledge_row(f"p{count - 1}"))
    report = import_file(csv_file(rows), "csv")
    assert not report.errors, [str(e) for e in report.errors[:3]]
    assert Pledge.objects.filter(reannounces__isnull=False).count() == count - 1
