"""``manage.py export_release DIR [--since RELEASE]``: a citable snapshot of the database
(docs/data-dictionary.md#data-releases)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pledges.releases import ReleaseError, write_release


class Command(BaseCommand):
    help = (
        "Write a data release into DIR: one CSV per table in the import layout, a Frictionless "
        "Data Package descriptor (datapackage.json) and the changes since the previous release."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="A new or empty directory.")
        parser.add_argument(
            "--since",
            type=Path,
            metavar="RELEASE",
            help="The directory of the previous release: changes are listed since its date.",
        )
        parser.add_argument(
            "--release-version", help="MAJOR.MINOR.PATCH; default: the previous one's minor + 1."
        )

    def handle(self, *args, directory: Path, since: Path | None, release_version, **options):
        try:
            descriptor = write_release(directory, since=since, version=release_version)
        except ReleaseError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Release {descriptor['version']} of {descriptor['created']} written to {directory}."
        )
