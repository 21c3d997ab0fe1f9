"""Data releases: the files, the Frictionless validator's verdict on them, the changelog read
from the history, and a release imported back into an empty database with the same figures."""

import csv
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from frictionless import validate

from pledges import reports
from pledges.models import Category, Donor, Event, Pledge
from pledges.services import write_pledge
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db


def read_csv(path):
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def release(directory, *args):
    call_command("export_release", str(directory), *args, verbosity=0)
    return json.loads((directory / "datapackage.json").read_text())


def figures(group_by: str) -> list[list]:
    """A report as a person reads it: names, not ids (ids differ between databases)."""
    report = reports.totals(Pledge.objects.all(), reports.parse_options(group_by=group_by))
    header, rows = reports.table(reports.report_data(report))
    return [header, *sorted(rows, key=str), ["all", report.total, report.pledges]]


def empty_the_database():
    Pledge.objects.update(parent=None, reannounces=None)
    Pledge.objects.all().delete()
    for model in (Donor, Category, Event):
        model.objects.all().delete()


def test_a_release_is_a_valid_data_package(reference_data, tmp_path):
    descriptor = release(tmp_path / "r1")
    report = validate(str(tmp_path / "r1" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert descriptor["version"] == "1.0.0"
    assert descriptor["licenses"][0]["name"] == "CC-BY-4.0"
    created = dt.datetime.fromisoformat(descriptor["created"])
    assert abs(created - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    names = [resource["name"] for resource in descriptor["resources"]]
    assert names == ["donors", "categories", "events", "pledges", "fulfilments", "changes"]
    pledges = read_csv(tmp_path / "r1" / "pledges.csv")
    assert len(pledges) == Pledge.objects.count() == 15
    assert len(read_csv(tmp_path / "r1" / "donors.csv")) == Donor.objects.count()
    confirmation = next(p for p in pledges if p["external_ref"] == "udcg-2025-06-de-package")
    assert confirmation["reannounces_ref"] == "de-2025-05-28-package"
    # A first release: every pledge is new.
    changes = read_csv(tmp_path / "r1" / "changes.csv")
    assert sorted(c["external_ref"] for c in changes) == sorted(p["external_ref"] for p in pledges)
    assert {c["change"] for c in changes} == {"added"}
    assert "## Added (15)" in (tmp_path / "r1" / "CHANGELOG.md").read_text()


def test_the_validator_finds_a_broken_release(reference_data, tmp_path):
    """The schemas say something: a pledge naming an unknown donor is caught."""
    release(tmp_path / "r1")
    path = tmp_path / "r1" / "pledges.csv"
    path.write_text(path.read_text().replace(",Germany,", ",Atlantis,", 1))
    report = validate(str(tmp_path / "r1" / "datapackage.json"))
    assert not report.valid
    assert "foreign-key" in {error.type for task in report.tasks for error in task.errors}


def test_the_changelog_lists_what_changed_since_the_previous_release(db, tmp_path):
    kept, changed, removed = (PledgeFactory(external_ref=ref) for ref in ("kept", "chg", "rm"))
    child_changed = PledgeFactory(external_ref="child")
    first = release(tmp_path / "r1")
    write_pledge(pledge=changed, fields={"title": "A new title", "amount": Decimal(5)})
    write_pledge(
        pledge=child_changed,
        fields={},
        sources=[{"publisher": "Ministry", "title": "Statement", "published_on": "2025-06-05"}],
    )
    removed.delete()
    PledgeFactory(external_ref="new")
    added_and_removed = PledgeFactory(external_ref="gone")
    added_and_removed.delete()

    second = release(tmp_path / "r2", "--since", str(tmp_path / "r1"))
    assert second["version"] == "1.1.0"
    assert second["previous_release"] == {"version": "1.0.0", "created": first["created"]}
    changes = {c["external_ref"]: c for c in read_csv(tmp_path / "r2" / "changes.csv")}
    assert {ref: c["change"] for ref, c in changes.items()} == {
        "chg": "changed",
        "child": "changed",
        "new": "added",
        "rm": "removed",
    }
    assert changes["chg"]["fields"].split() == ["title", "amount", "total_amount", "value_eur"]
    assert changes["child"]["fields"] == "items/sources"
    log = (tmp_path / "r2" / "CHANGELOG.md").read_text()
    assert "since release 1.0.0" in log
    assert "## Removed (1)" in log and "`rm`" in log
    assert kept.external_ref not in log
    assert validate(str(tmp_path / "r2" / "datapackage.json")).valid


def test_a_release_imports_into_an_empty_database_with_the_same_figures(reference_data, tmp_path):
    before = {key: figures(key) for key in ("donor", "category,confidence", "currency,status")}
    count = Pledge.objects.count()
    release(tmp_path / "r1")
    empty_the_database()
    assert not Pledge.objects.exists() and not Donor.objects.exists()

    call_command("import_release", str(tmp_path / "r1"), verbosity=0)

    assert Pledge.objects.count() == count
    assert {key: figures(key) for key in before} == before
    confirmation = Pledge.objects.get(external_ref="udcg-2025-06-de-package")
    assert confirmation.reannounces.external_ref == "de-2025-05-28-package"
    # The same release written again is the same data.
    release(tmp_path / "r2")
    for name in ("pledges", "donors", "categories", "events"):
        assert (tmp_path / "r2" / f"{name}.csv").read_bytes() == (
            tmp_path / "r1" / f"{name}.csv"
        ).read_bytes()


def test_a_bad_release_imports_nothing(reference_data, tmp_path):
    release(tmp_path / "r1")
    empty_the_database()
    path = tmp_path / "r1" / "pledges.csv"
    path.write_text(path.read_text().replace(",committed,", ",promised,", 1))
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_release", str(tmp_path / "r1"), verbosity=0)
    assert not Pledge.objects.exists()
    assert not Donor.objects.exists()  # the reference tables are rolled back too


def test_export_release_refusals(db, tmp_path):
    with pytest.raises(CommandError, match="is not a release"):
        call_command("export_release", str(tmp_path / "r1"), "--since", str(tmp_path / "none"))
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not empty"):
        call_command("export_release", str(tmp_path / "r2"))
    assert (tmp_path / "r2" / "notes.txt").read_text() == "mine"
