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
        filter_arguments(parser)

    def handle(self, *args, **options):
        params = parameters(options, ("group_by", "currency", "allocation", "format"))
        try:
            report, report_options = selectors.pledge_report(params, formats=FORMATS)
        except selectors.ParameterError as error:
            raise command_error(error) from error
        data = reports.report_data(report)
        getattr(self, f"_write_{report_options.format}")(data)

    def _write_json(self, data):
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2))

    def _write_csv(self, data):
        self.stdout.write(reports.csv_text(data), ending="")

    def _write_table(self, data):
        header, rows = reports.table(data)
        keys = len(data["group_by"])
        if keys:
            rows.append(
                ["All" if i == 0 else "" for i in range(keys)]
                + [data[figure] for figure in reports.FIGURES]
            )
        self.stdout.write(f"Totals in {data['currency']} ({data['allocation']} allocation)")
        for line in table_lines(header, rows, keys, reports.MONEY, overall=bool(keys)):
            self.stdout.write(line)


def filter_arguments(parser) -> None:
    """The pledge filters as options: those given once, and those that may be repeated."""
    for name in REPEATED_FILTERS:
        parser.add_argument(option(name), action="append", help="Repeat for several.")
    for name in SINGLE_FILTERS:
        parser.add_argument(option(name))


def parameters(options: dict, names: tuple[str, ...]) -> QueryDict:
    """The filters and the options ``names`` as the API's query parameters."""
    params = QueryDict(mutable=True)
    for name in REPEATED_FILTERS:
        params.setlist(name, options[name] or [])
    for name in (*SINGLE_FILTERS, *names):
        if options[name] is not None:
            params[name] = options[name]
    return params


def command_error(error: selectors.ParameterError) -> CommandError:
    """Each bad parameter named as its option."""
    return CommandError(
        "; ".join(
            f"{option(name)}: {' '.join(messages)}" for name, messages in error.errors.items()
        )
    )


def table_lines(header, rows, keys: int, money: tuple[str, ...], *, overall: bool) -> list[str]:
    """A table for people: ``keys`` columns left-aligned, the others right-aligned, ``money``
    columns with thousands separators; with ``overall``, a rule before the last row."""
    money_columns = [header.index(figure) for figure in money]
    rows = [list(row) for row in rows]
    for row in rows:
        for column in money_columns:
            row[column] = f"{Decimal(row[column]):,.2f}"
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    rule = "  ".join("-" * width for width in widths)

    def line(row):
        return "  ".join(
            cell.ljust(width) if i < keys else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )

    lines = [line(cells[0]), rule, *(line(row) for row in cells[1:])]
    if overall:
        lines.insert(len(lines) - 1, rule)
    return lines
