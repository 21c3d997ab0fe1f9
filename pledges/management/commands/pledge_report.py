"""``manage.py pledge_report``: the reports of ``GET /api/v1/reports/totals/`` on the command
line, with the same options and filters (docs/methodology.md#reports)."""

import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import QueryDict

from pledges import reports, selectors

FORMATS = ("table", "csv", "json")
# Filters given once, and those that may be repeated (as on the API).
SINGLE_FILTERS = (
    "event",
    "pledge_currency",
    "recipient",
    "date_from",
    "date_to",
    "search",
    "reannouncement",
)
REPEATED_FILTERS = ("donor", "category", "status", "confidence", "delivery")


def option(name: str) -> str:
    return "--" + name.replace("_", "-")


class Command(BaseCommand):
    help = "Totals of pledges by up to two keys, in one currency, as a table, CSV or JSON."

    def add_arguments(self, parser):
        parser.add_argument(
            "--group-by", default="", help="One or two of " + ", ".join(reports.KEYS) + "."
        )
        parser.add_argument("--currency", default="EUR", help="Target currency (ISO 4217).")
        parser.add_argument(
            "--allocation", default=reports.ANNOUNCEMENT, help="announcement|period"
        )
        parser.add_argument("--format", default="table", help="table|csv|json")
        for name in REPEATED_FILTERS:
            parser.add_argument(option(name), action="append", help="Repeat for several.")
        for name in SINGLE_FILTERS:
            parser.add_argument(option(name))

    def handle(self, *args, **options):
        params = QueryDict(mutable=True)
        for name in REPEATED_FILTERS:
            params.setlist(name, options[name] or [])
        for name in (*SINGLE_FILTERS, "group_by", "currency", "allocation", "format"):
            if options[name] is not None:
                params[name] = options[name]
        try:
            report, report_options = selectors.pledge_report(params, formats=FORMATS)
        except selectors.ParameterError as error:
            raise CommandError(
                "; ".join(
                    f"{option(name)}: {' '.join(messages)}"
                    for name, messages in error.errors.items()
                )
            ) from error
        data = reports.report_data(report)
        getattr(self, f"_write_{report_options.format}")(data)

    def _write_json(self, data):
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2))

    def _write_csv(self, data):
        self.stdout.write(reports.csv_text(data), ending="")

    def _write_table(self, data):
        header, rows = reports.table(data)
        if data["group_by"]:
            rows.append(
                ["All" if i == 0 else "" for i in range(len(data["group_by"]))]
                + [data[figure] for figure in reports.FIGURES]
            )
        money_columns = [header.index(figure) for figure in reports.MONEY]
        for row in rows:
            for column in money_columns:
                row[column] = f"{Decimal(row[column]):,.2f}"
        cells = [[str(cell) for cell in row] for row in [header, *rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        keys = len(data["group_by"])

        def line(row):
            return "  ".join(
                cell.ljust(width) if i < keys else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )

        self.stdout.write(f"Totals in {data['currency']} ({data['allocation']} allocation)")
        self.stdout.write(line(cells[0]))
        self.stdout.write("  ".join("-" * width for width in widths))
        for row in cells[1:]:
            if keys and row is cells[-1]:
                self.stdout.write("  ".join("-" * width for width in widths))
            self.stdout.write(line(row))
