"""``manage.py import_release DIR [--dry-run]``: load a data release (its donors, categories,
events and pledges) into this database, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pledges.releases import ReleaseError, load_release


class Command(BaseCommand):
    help = "Import a release written by export_release (reference tables, then pledges)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check everything, write nothing."
        )

    def handle(self, *args, directory: Path, dry_run: bool, **options):
        try:
            report = load_release(directory, dry_run=dry_run)
        except ReleaseError as error:
            raise CommandError(str(error)) from error
        for error in report.errors:
            self.stderr.write(f"pledges.csv {error}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} problems: nothing was imported.")
        self.stdout.write(report.summary())
