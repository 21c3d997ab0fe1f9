"""manage.py export_pledges [--format csv|xlsx] [--output FILE] [--fulfilments FILE]
[--filter NAME=VALUE …]"""

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict
from tqdm import tqdm

from pledges.filters import PledgeFilter
from pledges.models import Pledge
from pledges.spreadsheet import (
    FULFILMENTS_SHEET,
    export_queryset,
    fulfilments_queryset,
    iter_fulfilment_rows,
    iter_rows,
    write_csv,
    write_xlsx,
)


class Command(BaseCommand):
    help = (
        "Export pledges in the import layout, to standard output or a file, with the filters of "
        "the pledge list (e.g. --filter donor=3 --filter status=announced --filter "
        "date_from=2025-01-01). Rows are ordered by reference, so exports repeat byte for byte. "
        "The pledges' allocation and delivery records go to the workbook's fulfilments sheet "
        "(XLSX) or to the CSV file --fulfilments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", dest="file_format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")
        parser.add_argument(
            "--fulfilments",
            metavar="FILE",
            help="CSV: write the records of the exported pledges to this file.",
        )
        parser.add_argument(
            "--filter",
            dest="filters",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A pledge list filter (repeatable), as in the API's query string.",
        )

    def handle(self, *args, file_format: str, output: str | None, filters: list[str], **options):
        queryset = filtered_pledges(filters)
        if file_format == "xlsx" and output is None:
            raise CommandError("XLSX is binary: give --output FILE.")
        if file_format == "xlsx" and options["fulfilments"]:
            raise CommandError("A workbook holds its records in its fulfilments sheet.")
        records = iter_fulfilment_rows(fulfilments_queryset(queryset))
        rows = iter_rows(queryset)
        if output is not None and options["verbosity"] > 0:
            # A progress bar on standard error when the rows go to a file.
            rows = tqdm(rows, total=queryset.count() + 1, unit="row", leave=False)
        if output is None:
            count = write_csv(rows, self.stdout)
        elif file_format == "csv":
            with open(output, "w", encoding="utf-8", newline="") as stream:
                count = write_csv(rows, stream)
        else:
            with open(output, "wb") as stream:
                count = write_xlsx(rows, stream, more={FULFILMENTS_SHEET: records})
        if output is not None:
            self.stderr.write(f"{count} pledges written to {output}.")
        if options["fulfilments"]:
            with open(options["fulfilments"], "w", encoding="utf-8", newline="") as stream:
                written = write_csv(records, stream)
            self.stderr.write(f"{written} records written to {options['fulfilments']}.")


def filtered_pledges(terms: list[str]):
    data = QueryDict(mutable=True)
    for term in terms:
        name, sep, value = term.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--filter {term!r}: write NAME=VALUE.")
        data.appendlist(name.strip(), value)
    unknown = sorted(set(data) - set(PledgeFilter.base_filters))
    if unknown:
        raise CommandError(
            f"Unknown filter {', '.join(unknown)}; known: {', '.join(PledgeFilter.base_filters)}."
        )
    filterset = PledgeFilter(data=data, queryset=Pledge.objects.all())
    if not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items()
        )
        raise CommandError(f"Bad filter: {problems}")
    return export_queryset(filterset.qs, keep_order="ordering" in data)
