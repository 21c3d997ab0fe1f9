"""The timeline report (docs/methodology.md#the-timeline): what was pledged, allocated and
delivered in each month, quarter or year, and cumulatively, optionally by one key.

Pledged money is counted on the announcement date, as in the totals report (``reports``): the
engine's own aggregate, grouped by the period too. Allocated and delivered money is counted on
the dates of the fulfilment records, in one hand-written query (``_RECORDS_SQL``): for each
pledge, its records in date order give the running totals of what was delivered and of what
was allocated; a pledge has allocated at a date the larger of the two (what was delivered was
allocated), delivered what was delivered, both converted like its total and never more than it
counts; what each record adds is the difference of these levels. The levels of a pledge's last
record are what the totals report counts, so the timeline's cumulative figures end at the
totals report's ``total``, ``allocated`` and ``delivered``. A pledge marked delivered without
delivery records (``undated``) counts all of it as allocated and delivered on its announcement
date; re-announcements count nowhere; cancelled pledges, and their records, only when the
status filter asks for them.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections
from django.db.models import BigIntegerField, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Greatest, Least

from . import conversion, expressions, reports
from .choices import FulfilmentKind
from .models import Fulfilment
from .spreadsheet import csv_lines, neutralised

INTERVALS = ("month", "quarter", "year")
TIME_KEYS = ("year", "quarter", "month")
KEYS = tuple(key for key in reports.KEYS if key not in TIME_KEYS)
MONEY = ("pledged", "allocated", "delivered")
FIGURES = (*MONEY, *(f"cumulative_{figure}" for figure in MONEY))


@dataclass(frozen=True)
class TimelineOptions:
    interval: str = "month"
    group_by: tuple[str, ...] = ()
    currency: str = conversion.EURO
    format: str = "json"


@dataclass
class Step:
    """One period of one key: what was pledged, allocated and delivered in it, and so far."""

    period: tuple[int, ...]
    label: object
    keys: dict[str, object] = field(default_factory=dict)
    pledged: Decimal = reports.ZERO
    allocated: Decimal = reports.ZERO
    delivered: Decimal = reports.ZERO
    cumulative_pledged: Decimal = reports.ZERO
    cumulative_allocated: Decimal = reports.ZERO
    cumulative_delivered: Decimal = reports.ZERO


@dataclass
class Timeline:
    options: TimelineOptions
    rows: list[Step] = field(default_factory=list)


def parse_options(
    *,
    interval: str | None = None,
    group_by: str | list[str] | None = None,
    currency: str | None = None,
    format: str | None = None,
    formats: tuple[str, ...] = reports.FORMATS,
) -> TimelineOptions:
    """Check every parameter at once; ``reports.ReportError`` names each bad one."""
    errors: dict[str, str] = {}
    chosen = reports.parse_choice("interval", interval, INTERVALS, errors)
    keys = reports.parse_keys(group_by, KEYS, 1, errors)
    code = reports.parse_currency(currency, errors)
    output = reports.parse_choice("format", format, formats, errors)
    if errors:
        raise reports.ReportError(errors)
    return TimelineOptions(chosen, keys, code, output)


def timeline(
    pledges: QuerySet, options: TimelineOptions, *, include_cancelled: bool = False
) -> Timeline:
    """The timeline of ``options`` over ``pledges`` (already filtered): two queries, and one
    for the names of a donor, category or event key."""
    pledges = reports.selected(pledges, include_cancelled=include_cancelled)
    keys = reports.key_columns(options.group_by)
    periods = list(reports.GROUP_KEYS[options.interval].columns)
    steps: dict[tuple, Step] = {}

    def step(values: dict) -> Step:
        period = tuple(int(values[column]) for column in periods)
        shown = {key: reports.GROUP_KEYS[key].value(values) for key in options.group_by}
        identity = tuple(reports.identity(value) for value in shown.values())
        found = steps.get((identity, period))
        if found is None:
            label = reports.GROUP_KEYS[options.interval].value(values)
            found = steps[(identity, period)] = Step(period, label, shown)
        return found

    pledged = reports._summed(pledges, keys + periods, options.currency, period=False)
    recorded = _recorded(pledges, keys, periods, options.currency)
    reports.with_shown([*pledged, *recorded], options.group_by)  # names: one query
    for values in pledged:
        step(values).pledged += _money(values["total_cents"])
    for values in recorded:
        found = step(values)
        found.allocated += _money(values["allocated"])
        found.delivered += _money(values["delivered"])
    return Timeline(options, _accumulated(steps))


def _money(cents) -> Decimal:
    return Decimal(int(cents or 0)).scaleb(-2)


def _accumulated(steps: dict[tuple, Step]) -> list[Step]:
    """The steps in period order (each period's keys by name), each key's cumulative figures
    running over its periods."""

    def order(item):
        (identity, period), found = item
        labels = tuple(reports.key_label(value) for value in found.keys.values())
        return period, labels, repr(identity)

    ordered = sorted(steps.items(), key=order)
    running: dict[tuple, dict[str, Decimal]] = {}
    for (identity, _), found in ordered:
        totals = running.setdefault(identity, dict.fromkeys(MONEY, reports.ZERO))
        for figure in MONEY:
            totals[figure] += getattr(found, figure)
            setattr(found, f"cumulative_{figure}", totals[figure])
    return [found for _, found in ordered]


# --- allocated and delivered by the dates of the records --------------------------------

# ``pledge`` is read twice, each time straight from the table with its indexes (not
# materialized: SQLite would look it up without an index). In another currency the pledges
# are joined to ``target`` as in ``reports._CONVERTED_SQL``: every pledge's date has its row
# there, read first (SQLite's planner may otherwise scan it once per pledge); the records are
# then found by their pledge's index.
_RECORDS_SQL = """
WITH pledge AS {not_materialized} ({pledges}),
{rates}
event AS (
    SELECT {event_keys} p.id AS pledge_id, f.date AS recorded_on, f.id AS id, f.kind AS kind,
        f.cumulative_amount AS running, p.eur_rate AS eur_rate, {rate} AS rate, {counted} AS cents
    FROM {source} JOIN {fulfilment} f ON f.pledge_id = p.id {components}
    WHERE f.amount IS NOT NULL AND NOT p.undated {same_date}
    UNION ALL
    SELECT {event_keys} p.id, p.announced_on, 0, %s, p.total_amount, p.eur_rate, {rate},
        {counted}
    FROM {source} {components}
    WHERE p.undated {same_date}
),
running AS (
    SELECT {keys} e.pledge_id, e.recorded_on, e.id, e.eur_rate, e.rate, e.cents,
        MAX(CASE WHEN e.kind = %s THEN e.running END) OVER w AS delivered,
        MAX(CASE WHEN e.kind = %s THEN e.running END) OVER w AS allocated
    FROM event e
    WHERE e.cents IS NOT NULL
    WINDOW w AS (
        PARTITION BY e.pledge_id ORDER BY e.recorded_on, e.id ROWS UNBOUNDED PRECEDING
    )
),
level AS (
    SELECT {keys} r.pledge_id, r.recorded_on, r.id,
        {delivered_level} AS delivered, {allocated_level} AS allocated
    FROM running r
),
step AS (
    SELECT {keys} l.recorded_on,
        l.allocated - LAG(l.allocated, 1, 0) OVER v AS allocated,
        l.delivered - LAG(l.delivered, 1, 0) OVER v AS delivered
    FROM level l
    WINDOW v AS (PARTITION BY l.pledge_id ORDER BY l.recorded_on, l.id)
)
SELECT {keys} {periods}, SUM(allocated), SUM(delivered)
FROM step
GROUP BY {keys} {grouped}
"""


def _recorded(pledges: QuerySet, keys: list[str], periods: list[str], currency: str) -> list:
    """Allocated and delivered cents by ``keys`` and the record dates' ``periods``: one query,
    one dict per group with ``allocated`` and ``delivered``."""
    connection = connections[pledges.db]
    compile_sql = pledges.query.get_compiler(connection=connection).compile
    quoted = [connection.ops.quote_name(column) for column in keys]
    new = pledges.alias(reannounces_scanned=reports.Scanned("reannounces_id"))
    rows = new.filter(reannounces_scanned__isnull=True).values(
        *keys, "id", "announced_on", "eur_rate", "total_amount", "counted_cents", "undated"
    )
    pledge_sql, pledge_params = rows.query.sql_with_params()
    levels, level_params = _levels(compile_sql)
    parts = {
        "rates": "",
        "rate": "1",
        "counted": "p.counted_cents",
        "source": "pledge p",
        "components": "",
        "same_date": "",
    }
    rates_params, counted_params = (), ()
    if currency != conversion.EURO:
        rates, rates_params = reports.rate_ctes(connection, compile_sql, currency)
        counted, counted_params = _converted_counted(compile_sql)
        parts = {
            "rates": rates + ",",
            "rate": "t.rate",
            "counted": counted,
            "source": "target t CROSS JOIN pledge p",
            "components": "LEFT JOIN components k ON k.package_id = p.id",
            "same_date": "AND t.announced_on = p.announced_on",
        }
    sql = _RECORDS_SQL.format(
        not_materialized="NOT MATERIALIZED" if reports.materializes(connection) else "",
        pledges=pledge_sql,
        event_keys="".join(f"p.{column}, " for column in quoted),
        keys="".join(f"{column}, " for column in quoted),
        fulfilment=connection.ops.quote_name(Fulfilment._meta.db_table),
        delivered_level=levels["delivered"],
        allocated_level=levels["allocated"],
        periods=", ".join(
            f"{_period_sql(connection, column)} AS {connection.ops.quote_name(column)}"
            for column in periods
        ),
        grouped=", ".join(_period_sql(connection, column) for column in periods),
        **parts,
    )
    delivered, allocated = FulfilmentKind.DELIVERED.value, FulfilmentKind.ALLOCATED.value
    # In the order they appear in the SQL: the counted value in both parts of ``event``.
    params = (
        *pledge_params,
        *rates_params,
        *counted_params,
        delivered,
        *counted_params,
        delivered,
        allocated,
        *level_params,
    )
    return reports.fetched(pledges, sql, params, [*keys, *periods], ("allocated", "delivered"))


def _converted_counted(compile_sql) -> tuple[str, tuple]:
    """What a pledge ``p`` counts at the report currency's rate ``t``, less its components
    ``k``, never below zero: the totals report's arithmetic (``reports._converted_cents``)."""
    own = expressions.ConvertedCents(
        RawSQL("p.total_amount", ()), RawSQL("p.eur_rate", ()), RawSQL("t.rate", ())
    )
    components = Coalesce(RawSQL("k.cents", ()), Value(0), output_field=BigIntegerField())
    sql, params = compile_sql(Greatest(own - components, Value(0), output_field=BigIntegerField()))
    return sql, tuple(params)


def _levels(compile_sql) -> tuple[dict[str, str], tuple]:
    """What a pledge has delivered and allocated after a record ``r`` (its running totals in
    its currency), in cents of the report currency at its rate ``r.rate``, never more than it
    counts (``r.cents``); what was delivered counts as allocated."""

    def converted(column: str):
        running = RawSQL(column, ())  # noqa: S611 - one of this function's own column names
        return Coalesce(
            expressions.ConvertedCents(running, RawSQL("r.eur_rate", ()), RawSQL("r.rate", ())),
            Value(0),
            output_field=BigIntegerField(),
        )

    cents = RawSQL("r.cents", (), output_field=BigIntegerField())
    delivered = converted("r.delivered")
    allocated = Greatest(converted("r.allocated"), delivered, output_field=BigIntegerField())
    (delivered_sql, delivered_params), (allocated_sql, allocated_params) = (
        compile_sql(Least(delivered, cents, output_field=BigIntegerField())),
        compile_sql(Least(allocated, cents, output_field=BigIntegerField())),
    )
    return (
        {"delivered": delivered_sql, "allocated": allocated_sql},
        (*delivered_params, *allocated_params),
    )


def _period_sql(connection, column: str) -> str:
    """The period column ``r_year``, ``r_quarter`` or ``r_month`` of the record date
    ``recorded_on``, as ``reports`` computes it of the announcement date."""
    part = column.removeprefix("r_")
    if connection.vendor == "sqlite":
        month = "CAST(strftime('%%m', recorded_on) AS INTEGER)"
        return {
            "year": "CAST(strftime('%%Y', recorded_on) AS INTEGER)",
            "month": month,
            "quarter": f"(({month} + 2) / 3)",
        }[part]
    return f"date_part('{part}', recorded_on)::integer"


# --- output, shared by the API and the command line -------------------------------------


def timeline_data(result: Timeline) -> dict:
    """The JSON shape of the API (docs/data-dictionary.md#the-timeline)."""

    def jsonable(value):
        if isinstance(value, dict):
            return {k: jsonable(v) for k, v in value.items()}
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return {
        "currency": result.options.currency,
        "interval": result.options.interval,
        "group_by": list(result.options.group_by),
        "rows": [
            {
                "period": step.label,
                **{key: jsonable(value) for key, value in step.keys.items()},
                **{figure: reports.money(getattr(step, figure)) for figure in FIGURES},
            }
            for step in result.rows
        ],
    }


def table(data: dict) -> tuple[list[str], list[list]]:
    """Header and rows of a timeline (``timeline_data``): the period, the key by name, then
    the figures."""
    keys = data["group_by"]
    header = ["period", *keys, *FIGURES]
    return header, [
        [row["period"], *(reports.key_label(row[key]) for key in keys)]
        + [row[figure] for figure in FIGURES]
        for row in data["rows"]
    ]


def csv_text(data: dict) -> str:
    """A timeline as CSV, every cell neutralised against spreadsheet formulas (a key's name is
    text the public may have typed)."""
    header, rows = table(data)
    return "".join(csv_lines(neutralised([header, *rows]), lineterminator="\n"))
