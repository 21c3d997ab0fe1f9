"""manage.py import_pledges FILE [--fulfilments FILE] [--dry-run]: all or nothing, every bad
row reported."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pledges.importing import import_file
from pledges.spreadsheet import format_of


class Command(BaseCommand):
    help = (
        "Import pledges from a CSV (UTF-8) or XLSX file in the export layout, with their "
        "allocation and delivery records (the workbook's fulfilments sheet, or the CSV file "
        "--fulfilments): these become the records of the file's pledges. Nothing is written "
        "unless every row is valid; the external_ref column decides between create and update."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--fulfilments",
            type=Path,
            metavar="FILE",
            help="CSV: the records of the file's pledges (without: records stay as they are).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the whole file and write nothing."
        )
        parser.add_argument(
            "--format", choices=["csv", "xlsx"], help="Default: from the file name's extension."
        )

    def handle(self, *args, file: Path, dry_run: bool, **options):
        data = read(file)
        records = read(options["fulfilments"]) if options["fulfilments"] else None
        with tqdm(
            unit="row", desc="Importing", disable=options["verbosity"] == 0, leave=False
        ) as bar:
            file_format = options["format"] or format_of(file.name)
            report = import_file(
                data, file_format, fulfilments=records, dry_run=dry_run, progress=bar
            )
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(report.errors)} problems in {file}: nothing was imported.")
        self.stdout.write(self.style.SUCCESS(report.summary()))


def read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
