"""Aggregate reports (docs/methodology.md#reports): the one report engine of the API, the
command line and the dashboard.

Everything is summed in the database, in a fixed number of queries whatever the number of
pledges. Each pledge's counted value (its total less its non-cancelled components', never below
zero) is kept in the database by every write path (``counted``): a report in euros is one
aggregate of those whole cents over the pledges. In another currency each pledge is converted
at its own announcement date (``expressions.ConvertedCents``, from its stored ``eur_rate`` to
the report currency's rate of that date) less what its components are worth in that currency,
in one query that ``_summed_converted`` writes. Sums are of whole cents, so that a report is
exactly the per-pledge conversions added up, on SQLite too.

Beside the total, a report gives what of it was ``allocated`` and ``delivered`` (and the
``outstanding`` rest), from what each pledge's fulfilment records say (``lifecycle``): in euros
the sums of the stored ``allocated_cents`` and ``delivered_cents``; in another currency each
pledge's ``allocated_amount`` and ``delivered_amount`` converted like its total, never more than
what it counts. Both ride in the same single query.

A re-announcement (a pledge that ``reannounces`` an earlier one) is new news, not new money: it
counts in ``pledges`` and ``reannounced`` and nowhere else, never in ``total`` nor in the money
that was allocated or delivered.
"""

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Func,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Coalesce,
    ExtractMonth,
    ExtractQuarter,
    ExtractYear,
    Greatest,
    Least,
)

from . import conversion, expressions
from .choices import AmountBasis, PledgeStatus
from .codes import is_currency, normalise_code
from .models import Category, Donor, Event, ExchangeRate, Pledge
from .spreadsheet import csv_lines, neutralised


class _Year(ExtractYear):
    """``announced_on``'s year as an integer: on SQLite with its own date function, not
    Django's Python one (called once per row, it would be most of a report's time); on
    PostgreSQL with ``date_part``, as EXTRACT gives a numeric, several times slower to group."""

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"CAST(strftime('%%Y', {sql}) AS INTEGER)", params

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"date_part('{self.lookup_name}', {sql})::integer", params


class _Month(ExtractMonth):
    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"CAST(strftime('%%m', {sql}) AS INTEGER)", params

    as_postgresql = _Year.as_postgresql


class _Quarter(ExtractQuarter):
    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"((CAST(strftime('%%m', {sql}) AS INTEGER) + 2) / 3)", params

    as_postgresql = _Year.as_postgresql


class Scanned(Func):
    """A column as a report groups or filters on it. On SQLite with the unary ``+`` (a no-op
    on the value), which keeps the planner from walking the column's own index and fetching
    each wide row of the table by its id: it reads the covering report index of migration
    0009 in one pass instead (and groups in a temporary B-tree)."""

    arity = 1
    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"+{sql}", params


@dataclass(frozen=True)
class GroupKey:
    """A report key: the columns its rows are grouped on, and the value a row shows.

    A key on a foreign key is grouped on the id alone, and what a row shows of it (``shown``
    fields of ``model``) is read after, once per report: grouping on the names too makes
    PostgreSQL expect far more groups than there are and sort a million rows on disk.
    """

    columns: tuple[str, ...]
    value: Callable[[dict], object]
    model: type | None = None
    shown: tuple[str, ...] = ()


def _related(name: str, model: type, *shown: str) -> GroupKey:
    """A key on a foreign key: grouped on its id, shown as {"id", *shown} (None without one)."""
    id_column = f"{name}_id"

    def value(values: dict):
        if values[id_column] is None:
            return None
        return {"id": values[id_column], **{part: values[f"{name}__{part}"] for part in shown}}

    return GroupKey((id_column,), value, model, shown)


def _plain(name: str) -> GroupKey:
    return GroupKey((name,), lambda values: values[name] or None)


# Every key a report groups by, described once. The time keys use ``announced_on``.
GROUP_KEYS: dict[str, GroupKey] = {
    "donor": _related("donor", Donor, "name", "iso2"),
    "category": _related("category", Category, "slug", "name"),
    "event": _related("event", Event, "name", "date"),
    "status": _plain("status"),
    "confidence": _plain("confidence"),
    "recipient": _plain("recipient"),
    "currency": _plain("currency"),
    "year": GroupKey(("r_year",), lambda values: values["r_year"]),
    "quarter": GroupKey(
        ("r_year", "r_quarter"), lambda values: f"{values['r_year']}-Q{values['r_quarter']}"
    ),
    "month": GroupKey(
        ("r_year", "r_month"), lambda values: f"{values['r_year']}-{values['r_month']:02d}"
    ),
}
KEYS = tuple(GROUP_KEYS)
MAX_KEYS = 2
ANNOUNCEMENT, PERIOD = "announcement", "period"
ALLOCATIONS = (ANNOUNCEMENT, PERIOD)
FORMATS = ("json", "csv")
# The figures of a row, in the order of the CSV columns: the money figures of the lifecycle
# come last, so that the columns of older reports keep their places.
FIGURES = (
    "total",
    "pledges",
    "unvalued",
    "unconverted",
    "reannounced",
    "allocated",
    "delivered",
    "outstanding",
)
COUNTS = FIGURES[1:5]  # the figures that count pledges; each is summed as n_<figure>
MONEY = ("total", "allocated", "delivered", "outstanding")
# The money summed by the database, in cents, by the name of its column in ``_summed``'s
# answer (not the model's ``allocated_cents``: an annotation cannot take a field's name).
SUMMED_MONEY = {"total": "total_cents", "allocated": "allocated_sum", "delivered": "delivered_sum"}


class ReportError(ValueError):
    """Bad report parameters: ``errors`` maps each parameter to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass(frozen=True)
class ReportOptions:
    group_by: tuple[str, ...] = ()
    currency: str = conversion.EURO
    allocation: str = ANNOUNCEMENT
    format: str = "json"


ZERO = Decimal("0.00")


@dataclass
class Figures:
    """What a report says of a group of pledges (a row) or of all of them."""

    total: Decimal = ZERO
    allocated: Decimal = ZERO
    delivered: Decimal = ZERO
    pledges: int = 0
    unvalued: int = 0
    unconverted: int = 0
    reannounced: int = 0

    @property
    def outstanding(self) -> Decimal:
        """What was pledged and not (yet) delivered: never below zero."""
        return max(ZERO, self.total - self.delivered)


@dataclass
class Row(Figures):
    keys: dict[str, object] = field(default_factory=dict)


@dataclass
class Report(Figures):
    options: ReportOptions = field(default_factory=ReportOptions)
    rows: list[Row] = field(default_factory=list)


def parse_options(
    *,
    group_by: str | list[str] | None = None,
    currency: str | None = None,
    allocation: str | None = None,
    format: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> ReportOptions:
    """Check every report parameter at once; ``ReportError`` names each bad one."""
    errors: dict[str, str] = {}
    keys = parse_keys(group_by, KEYS, MAX_KEYS, errors)
    code = parse_currency(currency, errors)
    allocation = (allocation or ANNOUNCEMENT).strip().lower()
    if allocation not in ALLOCATIONS:
        errors["allocation"] = f"Choose {' or '.join(ALLOCATIONS)}."
    elif allocation == PERIOD and "group_by" not in errors:
        if "year" not in keys:
            errors["allocation"] = "allocation=period needs year in group_by."
        elif {"quarter", "month"} & set(keys):
            errors["allocation"] = "allocation=period spreads over years, not quarters or months."
    output = parse_choice("format", format, formats, errors)
    if errors:
        raise ReportError(errors)
    return ReportOptions(keys, code, allocation, output)


def parse_keys(
    group_by: str | list[str] | None, allowed: tuple[str, ...], most: int, errors: dict
) -> tuple[str, ...]:
    """The keys of ``group_by`` (comma-separated, or repeated): at most ``most`` of
    ``allowed``; a bad one is named in ``errors``."""
    if isinstance(group_by, list):
        group_by = ",".join(group_by)
    keys = tuple(key.strip().lower() for key in (group_by or "").split(",") if key.strip())
    unknown = [key for key in keys if key not in allowed]
    number = "one" if most == 1 else "one or two"
    if unknown:
        errors["group_by"] = (
            f"Unknown key {', '.join(unknown)}: choose {number} of {', '.join(allowed)}."
        )
    elif len(keys) > most:
        errors["group_by"] = (
            f"At most {most} keys, comma-separated." if most > 1 else "At most one key."
        )
    elif len(set(keys)) != len(keys):
        errors["group_by"] = "A key is given twice."
    return keys


def parse_currency(currency: str | None, errors: dict) -> str:
    """The report currency (default EUR): an ISO 4217 code with stored rates."""
    code = normalise_code(currency) or conversion.EURO
    if not is_currency(code):
        errors["currency"] = f"{code} is not an ISO 4217 currency code."
    elif code != conversion.EURO and not ExchangeRate.objects.filter(currency=code).exists():
        errors["currency"] = f"No exchange rates are stored for {code}."
    return code


def parse_choice(name: str, value: str | None, choices: tuple[str, ...], errors: dict) -> str:
    """One of ``choices`` (the first by default), in any letter case."""
    chosen = (value or choices[0]).strip().lower()
    if chosen not in choices:
        errors[name] = f"Choose {' or '.join(choices)}."
    return chosen


def selected(pledges: QuerySet, *, include_cancelled: bool = False) -> QuerySet:
    """The pledges a report counts: ``pledges`` (already filtered) without the cancelled ones
    unless ``include_cancelled`` (the status filter asked for them), with the time keys of
    their announcement date."""
    pledges = pledges.order_by()
    if pledges.query.distinct:
        # A filter made it DISTINCT (django-filter does for multiple choices); annotations
        # cannot be summed over that, and a pledge is in the set or not.
        pledges = Pledge.objects.filter(pk__in=pledges.values("pk"))
    if not include_cancelled:
        pledges = pledges.exclude(status=PledgeStatus.CANCELLED)
    return pledges.annotate(
        r_year=_Year("announced_on"),
        r_quarter=_Quarter("announced_on"),
        r_month=_Month("announced_on"),
    )


def key_columns(keys) -> list[str]:
    """The columns that the rows of ``keys`` are grouped on, each once."""
    return list(dict.fromkeys(column for key in keys for column in GROUP_KEYS[key].columns))


def totals(pledges: QuerySet, options: ReportOptions, *, include_cancelled: bool = False) -> Report:
    """The report of ``options`` over ``pledges`` (already filtered).

    Cancelled pledges are left out unless ``include_cancelled`` (the status filter asked for
    them), and their fulfilment records with them. One query, beside one per related key for
    the names it shows.
    """
    pledges = selected(pledges, include_cancelled=include_cancelled)
    period = options.allocation == PERIOD
    report = Report(options=options)
    if not options.group_by:
        _fill(report, _summed(pledges, [], options.currency, period=period)[0])
        return report

    columns = key_columns(options.group_by)
    if period:
        columns.remove("r_year")
        pledges = pledges.annotate(
            r_first=Case(
                When(amount_basis=AmountBasis.PER_YEAR, then=F("period_start_year")),
                default=F("r_year"),
            ),
            r_last=Case(
                When(amount_basis=AmountBasis.PER_YEAR, then=F("period_end_year")),
                default=F("r_year"),
            ),
        )
        columns += ["r_first", "r_last"]
    grouped = with_shown(
        _summed(pledges, columns, options.currency, period=period), options.group_by
    )
    # Each pledge is in exactly one group from the database (with allocation=period, one of
    # its keys and years, spread afterwards over several rows): the overall figures are the
    # groups added up, without a second pass over the pledges.
    _fill(report, {figure: sum(group[figure] for group in grouped) for figure in _FIGURES_SUMMED})
    rows = _spread_over_years(grouped, options) if period else _rows(grouped, options)
    report.rows = sorted(rows, key=lambda row: (-row.total, _sort_label(row)))
    return report


def _summed(pledges: QuerySet, columns: list[str], currency: str, *, period: bool) -> list[dict]:
    """The figures of ``pledges`` summed by ``columns`` into ``currency``: one query, one dict
    of the columns and ``_FIGURES_SUMMED`` per group. In euros it is one aggregate over the
    pledges; a new figure (a count, or money kept in cents like ``counted_cents``) is one more
    aggregate here and one more column of ``_CONVERTED_SQL``."""
    if currency != conversion.EURO:
        return _summed_converted(pledges, columns, currency, period=period)
    new = Q(reannounces__isnull=True)  # a re-announcement counts only in n_reannounced
    figures = {
        "total_cents": Coalesce(
            Sum("counted_period_cents" if period else "counted_cents", filter=new), Value(0)
        ),
        "allocated_sum": Coalesce(Sum(_lifecycle_cents("allocated", period), filter=new), Value(0)),
        "delivered_sum": Coalesce(Sum(_lifecycle_cents("delivered", period), filter=new), Value(0)),
        # Counts of the non-NULL values, subtracted: an eur_rate is there only with an amount.
        "n_pledges": Count("pk"),
        "n_unvalued": Count("pk", filter=new) - Count("amount", filter=new),
        "n_unconverted": Count("amount", filter=new) - Count("eur_rate", filter=new),
        "n_reannounced": Count("reannounces"),
    }
    if not columns:
        return [pledges.aggregate(**figures)]
    keys = {f"key_{column}": Scanned(column) for column in columns}
    return [
        {**{column: group.pop(f"key_{column}") for column in columns}, **group}
        for group in pledges.values(**keys).annotate(**figures)
    ]


def _lifecycle_cents(figure: str, period: bool):
    """What a pledge counts as ``figure`` (allocated or delivered) in a euro report: its stored
    cents; with ``allocation=period``, all of its period value when its records cover its whole
    total, else its cents but never more than its period value (the two values of a per-year
    pledge differ by the rounding of a yearly amount)."""
    stored = f"{figure}_cents"
    if not period:
        return F(stored)
    return Case(
        When(**{f"{figure}_amount__gte": F("total_amount")}, then=F("counted_period_cents")),
        default=Least(stored, "counted_period_cents"),
        output_field=BigIntegerField(),
    )


_FIGURES_SUMMED = (*SUMMED_MONEY.values(), *(f"n_{figure}" for figure in COUNTS))


def _pledge_rows(pledges: QuerySet, columns: list[str], *, period: bool) -> QuerySet:
    """One row per pledge: its keys and what its conversion needs but the target rate.

    ``money`` is converted and counted ``copies`` times: the total once, or with ``period``
    a per-year amount once per year of its period, so that every year gets the same value.
    ``eur_rate`` is NULL when the pledge's currency has no usable rate.
    """
    money, copies = F("total_amount"), Value(1)
    if period:
        per_year = Q(amount_basis=AmountBasis.PER_YEAR)
        money = Case(When(per_year, then=F("amount")), default=F("total_amount"))
        copies = Case(
            When(per_year, then=F("period_end_year") - F("period_start_year") + 1),
            default=Value(1),
        )
    return pledges.values(
        *columns,
        "id",
        "amount",
        "announced_on",
        "eur_rate",
        "reannounces_id",
        "total_amount",
        "allocated_amount",
        "delivered_amount",
        money=money,
        copies=copies,
    )


def target_rates(currency: str) -> QuerySet:
    """The rate of ``currency`` on each date a pledge was announced, looked up once per date
    rather than once per pledge."""
    first_of_each_date = (
        Pledge.objects.order_by().values("announced_on").annotate(first=Min("id")).values("first")
    )
    return (
        Pledge.objects.filter(pk__in=first_of_each_date)
        .order_by()
        .values("announced_on", rate=expressions.rate_of_currency(currency, "announced_on"))
    )


# The report currency's rate on each date a pledge was announced, and what each package's
# non-cancelled components are worth in it.
#
# Every pledge's date has its row in ``target`` (read from every pledge, its rate NULL when
# there is none), so an inner join from ``target`` keeps every pledge. Written as a CROSS JOIN,
# it makes SQLite read the dates first and find each date's pledges by their date index: for
# some groupings (by month alone, by year alone) its planner otherwise scanned all of
# ``target`` once for each pledge, seconds at 10,000 pledges. PostgreSQL plans it freely.
_RATE_CTES = """
target AS {materialized} ({target}),
components AS {materialized} (
    SELECT c.parent_id AS package_id, SUM({component}) AS cents
    FROM {table} c JOIN target t ON t.announced_on = c.announced_on
    WHERE c.parent_id IS NOT NULL AND c.status <> %s
    GROUP BY c.parent_id
)"""

# ``pledge`` is read once, so it is not materialized: PostgreSQL then joins the table's rows
# straight to ``target`` and ``components`` instead of writing a million rows to a work table
# and sorting them (USD by donor at 1M pledges: 4.8 s materialized, 3.2 s not).
_CONVERTED_SQL = """
WITH pledge AS ({pledges}),
{rates}
SELECT {keys}
    COALESCE(SUM(CASE WHEN p.reannounces_id IS NULL THEN {counted} ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN p.reannounces_id IS NULL THEN {allocated} ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN p.reannounces_id IS NULL THEN {delivered} ELSE 0 END), 0),
    COUNT(*),
    COUNT(CASE WHEN p.reannounces_id IS NULL AND p.amount IS NULL THEN 1 END),
    COUNT(CASE WHEN p.reannounces_id IS NULL AND p.amount IS NOT NULL
        AND (p.eur_rate IS NULL OR t.rate IS NULL) THEN 1 END),
    COUNT(p.reannounces_id)
FROM target t CROSS JOIN pledge p
    LEFT JOIN components k ON k.package_id = p.id
WHERE t.announced_on = p.announced_on
{group_by}
"""


def _summed_converted(
    pledges: QuerySet, columns: list[str], currency: str, *, period: bool
) -> list[dict]:
    """``_summed`` into a currency other than the euro: the one report query put together by
    hand (``tests/pledges/test_report_exactness.py`` compares it with the plain ORM).

    The ORM writes the parts (the pledges' rows with their filters and keys, the report
    currency's rate on each date) and the arithmetic; this query puts them together, so that
    the report currency's rate is looked up once per date and joined, and the components are
    summed once per package: the ORM alone would repeat the look-ups in every aggregate, for
    every pledge. A pledge counts its money converted from its stored ``eur_rate``, ``copies``
    times, less what its non-cancelled components are worth, never below zero; nothing when
    it is unvalued or unconverted, nor when it is a re-announcement.
    """
    connection = connections[pledges.db]
    compile_sql = pledges.query.get_compiler(connection=connection).compile
    arithmetic = _converted_cents(compile_sql, period=period)
    counted, counted_params = arithmetic["counted"]
    pledge_rows = _pledge_rows(pledges, columns, period=period)
    pledge_sql, pledge_params = pledge_rows.query.sql_with_params()
    rates_sql, rates_params = rate_ctes(connection, compile_sql, currency)
    keys = ", ".join(f"p.{connection.ops.quote_name(column)}" for column in columns)
    sql = _CONVERTED_SQL.format(
        pledges=pledge_sql,
        rates=rates_sql,
        keys=keys + "," if keys else "",
        counted=counted,
        allocated=arithmetic["allocated"][0],
        delivered=arithmetic["delivered"][0],
        group_by=f"GROUP BY {keys}" if keys else "",
    )
    # In the order they appear in the SQL.
    params = (
        *pledge_params,
        *rates_params,
        *counted_params,
        *arithmetic["allocated"][1],
        *arithmetic["delivered"][1],
    )
    return fetched(pledges, sql, params, columns, _FIGURES_SUMMED)


def rate_ctes(connection, compile_sql, currency: str) -> tuple[str, tuple]:
    """``_RATE_CTES`` for ``currency``, with its parameters: ``target`` (its rate on each date
    a pledge was announced, ``t.rate``) and ``components`` (``k.cents`` of each package)."""
    component, component_params = compile_sql(
        expressions.ConvertedCents(
            RawSQL("c.total_amount", ()), RawSQL("c.eur_rate", ()), RawSQL("t.rate", ())
        )
    )
    target_sql, target_params = target_rates(currency).query.sql_with_params()
    sql = _RATE_CTES.format(
        materialized="MATERIALIZED" if materializes(connection) else "",
        target=target_sql,
        component=component,
        table=connection.ops.quote_name(Pledge._meta.db_table),
    )
    return sql, (*target_params, *component_params, PledgeStatus.CANCELLED.value)


def fetched(
    pledges: QuerySet, sql: str, params, columns: list[str], figures: tuple[str, ...]
) -> list[dict]:
    """The rows of a hand-written query over ``pledges``: its key ``columns`` as the ORM
    gives them, then ``figures``."""
    query = pledges.query.clone()  # resolving a key may add a join
    fields = {column: query.resolve_ref(column).output_field for column in columns}
    with connections[pledges.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {
                **{column: fields[column].to_python(row[i]) for i, column in enumerate(columns)},
                **dict(zip(figures, row[len(columns) :], strict=True)),
            }
            for row in cursor.fetchall()
        ]


def _converted_cents(compile_sql, *, period: bool) -> dict[str, tuple[str, tuple]]:
    """The arithmetic of ``_CONVERTED_SQL`` as SQL with its parameters: what a pledge ``p``
    counts and what of it was allocated and delivered, at the report currency's rate ``t``."""

    def converted(column: str):
        # ``column``: one of this function's own column names, never input.
        money = RawSQL(column, ())  # noqa: S611
        return expressions.ConvertedCents(money, RawSQL("p.eur_rate", ()), RawSQL("t.rate", ()))

    def less_components(own):
        components = Coalesce(RawSQL("k.cents", ()), Value(0), output_field=BigIntegerField())
        return Greatest(own - components, Value(0), output_field=BigIntegerField())

    own = ExpressionWrapper(converted("p.money") * RawSQL("p.copies", ()), BigIntegerField())
    counted = less_components(own)
    parts = {"counted": compile_sql(counted)}
    for figure in ("allocated", "delivered"):
        amount = f"p.{figure}_amount"
        if not period:
            # Never more than the pledge counts; nothing to convert without records.
            least, least_params = compile_sql(Least(converted(amount), counted))
            parts[figure] = (
                f"CASE WHEN {amount} > 0 THEN {least} ELSE 0 END",
                tuple(least_params),
            )
            continue
        # As ``_lifecycle_cents`` in euros: all of the period value when the records cover the
        # whole total, else the amount converted, never more than the whole total nor the
        # period value counts (a per-year pledge's two values differ by a rounding).
        whole = less_components(converted("p.total_amount"))
        (full, full_params), (least, least_params) = (
            compile_sql(counted),
            compile_sql(Least(converted(amount), whole, counted)),
        )
        parts[figure] = (
            f"CASE WHEN {amount} >= p.total_amount THEN {full} "
            f"WHEN {amount} > 0 THEN {least} ELSE 0 END",
            (*full_params, *least_params),
        )
    return parts


def materializes(connection) -> bool:
    """Whether the database takes the MATERIALIZED keyword of a CTE (SQLite before 3.35
    has none, nor needs it)."""
    return connection.vendor == "postgresql" or sqlite3.sqlite_version_info >= (3, 35)


def with_shown(grouped: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Add to each group what its foreign keys of ``keys`` show (``GroupKey.shown``): one
    query per such key."""
    for key in keys:
        group_key = GROUP_KEYS[key]
        if group_key.model is None:
            continue
        id_column = group_key.columns[0]
        name = id_column.removesuffix("_id")
        ids = {values[id_column] for values in grouped} - {None}
        shown = {
            row["id"]: row
            for row in group_key.model.objects.filter(pk__in=ids).values("id", *group_key.shown)
        }
        for values in grouped:
            related = shown.get(values[id_column], {})
            for part in group_key.shown:
                values[f"{name}__{part}"] = related.get(part)
    return grouped


def _fill(target: Report | Row, figures: dict) -> None:
    for figure, column in SUMMED_MONEY.items():
        setattr(target, figure, Decimal(int(figures[column])).scaleb(-2))
    for figure in COUNTS:
        setattr(target, figure, figures[f"n_{figure}"])


def _rows(grouped, options: ReportOptions) -> list[Row]:
    rows = []
    for values in grouped:
        row = Row(keys={key: GROUP_KEYS[key].value(values) for key in options.group_by})
        _fill(row, values)
        rows.append(row)
    return rows


def spread(cents: int, years: int) -> list[int]:
    """``cents`` over ``years`` years: an equal share each, and the odd cents one each to the
    first years. Never more in a year for less overall, so that what was delivered of a group
    is never more than its total in any year."""
    share, odd = divmod(cents, years)
    return [share + (1 if index < odd else 0) for index in range(years)]


def _spread_over_years(grouped, options: ReportOptions) -> list[Row]:
    """``allocation=period``: a per-year pledge in each year of its period
    (docs/methodology.md#per-year-amounts).

    The groups come from the database by (keys, first year, last year); each group's money is
    spread here over its years (``spread``), and it counts its pledges in each year.
    """
    merged: dict[tuple, Row] = {}
    for values in grouped:
        first, last = values["r_first"], values["r_last"]
        shares = {
            figure: spread(int(values[column]), last - first + 1)
            for figure, column in SUMMED_MONEY.items()
        }
        for index, year in enumerate(range(first, last + 1)):
            keys = {
                key: year if key == "year" else GROUP_KEYS[key].value(values)
                for key in options.group_by
            }
            known = tuple(identity(keys[key]) for key in options.group_by)
            row = merged.setdefault(known, Row(keys=keys))
            for figure in SUMMED_MONEY:
                cents = shares[figure][index]
                setattr(row, figure, getattr(row, figure) + Decimal(cents).scaleb(-2))
            for figure in COUNTS:
                setattr(row, figure, getattr(row, figure) + values[f"n_{figure}"])
    return list(merged.values())


def identity(value):
    """A key as the rows are told apart: an object by its id."""
    return value["id"] if isinstance(value, dict) else value


def key_label(value) -> str:
    """A key as a person reads it: names, not ids."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value["name"])
    return str(value)


def _sort_label(row: Row) -> tuple[str, ...]:
    return tuple(key_label(value) for value in row.keys.values())


# --- output, shared by the API, the command line and the dashboard ----------------------


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def report_data(report: Report) -> dict:
    """The JSON shape of the API (docs/data-dictionary.md#reports): money as decimal strings,
    dates as ISO strings."""

    def jsonable(value):
        if isinstance(value, dict):
            return {k: jsonable(v) for k, v in value.items()}
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def figures(target: Report | Row) -> dict:
        return {
            figure: money(value) if figure in MONEY else value
            for figure in FIGURES
            for value in [getattr(target, figure)]
        }

    return {
        "currency": report.options.currency,
        "group_by": list(report.options.group_by),
        "allocation": report.options.allocation,
        "rows": [
            {**{k: jsonable(v) for k, v in row.keys.items()}, **figures(row)} for row in report.rows
        ],
        **figures(report),
    }


def csv_text(data: dict) -> str:
    """A report as CSV (``table``), every cell neutralised against spreadsheet formulas: a
    donor, category, event or recipient name is text the public may have typed."""
    header, rows = table(data)
    return "".join(csv_lines(neutralised([header, *rows]), lineterminator="\n"))


def table(data: dict) -> tuple[list[str], list[list]]:
    """Header and rows of a report (``report_data``) as a table: one column per key, by
    name, then the figures. Without keys the one row holds the overall figures."""
    keys = data["group_by"]
    header = [*keys, *FIGURES]
    if not keys:
        return header, [[data[figure] for figure in FIGURES]]
    return header, [
        [*(key_label(row[key]) for key in keys), *(row[figure] for figure in FIGURES)]
        for row in data["rows"]
    ]
