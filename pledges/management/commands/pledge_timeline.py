"""``manage.py pledge_timeline``: the timeline of ``GET /api/v1/reports/timeline/`` on the
command line, with the same options and filters (docs/methodology.md#the-timeline)."""

import json

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from pledges import selectors, timeline

from .pledge_report import FORMATS, command_error, filter_arguments, parameters, table_lines


class Command(BaseCommand):
    help = (
        "What was pledged, allocated and delivered in each month, quarter or year, and "
        "cumulatively, in one currency, optionally by one key; as a table, CSV or JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", default="month", help="month|quarter|year")
        parser.add_argument(
            "--group-by", default="", help="At most one of " + ", ".join(timeline.KEYS) + "."
        )
        parser.add_argument("--currency", default="EUR", help="Target currency (ISO 4217).")
        parser.add_argument("--format", default="table", help="table|csv|json")
        filter_arguments(parser)

    def handle(self, *args, **options):
        params = parameters(options, ("interval", "group_by", "currency", "format"))
        try:
            result, chosen = selectors.pledge_timeline(params, formats=FORMATS)
        except selectors.ParameterError as error:
            raise command_error(error) from error
        data = timeline.timeline_data(result)
        if chosen.format == "json":
            self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2))
        elif chosen.format == "csv":
            self.stdout.write(timeline.csv_text(data), ending="")
        else:
            header, rows = timeline.table(data)
            keys = 1 + len(data["group_by"])
            by = f" by {data['group_by'][0]}" if data["group_by"] else ""
            self.stdout.write(f"Pledged, allocated and delivered in {data['currency']}{by}")
            for line in table_lines(header, rows, keys, timeline.FIGURES, overall=False):
                self.stdout.write(line)
