"""Aggregate reports (docs/methodology.md#reports): the one report engine of the API, the
command line and the dashboard.

Everything is summed in the database, in a fixed number of queries whatever the number of
pledges. Each pledge counts its *counted cents*: its total converted into the report currency
at its own announcement date (``expressions.ConvertedCents``, at the rates of
``expressions.rate_of_field``), less what its non-cancelled components are worth in that
currency, never below zero. Sums are of whole cents, so that a report is exactly the
per-pledge conversions added up, on SQLite too.

A re-announcement (a pledge that ``reannounces`` an earlier one) is new news, not new money: it
counts in ``pledges`` and ``reannounced`` and nowhere else, never in ``total``.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections
from django.db.models import (
    BigIntegerField,
    Case,
    ExpressionWrapper,
    F,
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
)

from . import conversion, expressions
from .choices import AmountBasis, PledgeStatus
from .codes import is_currency, normalise_code
from .models import ExchangeRate, Pledge

GROUP_KEYS = ("donor", "category", "event", "status", "confidence", "recipient", "currency")
TIME_KEYS = ("year", "quarter", "month")
KEYS = GROUP_KEYS + TIME_KEYS
MAX_KEYS = 2
ANNOUNCEMENT, PERIOD = "announcement", "period"
ALLOCATIONS = (ANNOUNCEMENT, PERIOD)
FORMATS = ("json", "csv")
FIGURES = ("total", "pledges", "unvalued", "unconverted", "reannounced")

# The columns each key is grouped on (the id and what a row shows of it).
_KEY_COLUMNS = {
    "donor": ("donor_id", "donor__name", "donor__iso2"),
    "category": ("category_id", "category__slug", "category__name"),
    "event": ("event_id", "event__name", "event__date"),
    "status": ("status",),
    "confidence": ("confidence",),
    "recipient": ("recipient",),
    "currency": ("currency",),
    "year": ("r_year",),
    "quarter": ("r_year", "r_quarter"),
    "month": ("r_year", "r_month"),
}


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


@dataclass
class Row:
    keys: dict[str, object]
    total: Decimal = Decimal("0.00")
    pledges: int = 0
    unvalued: int = 0
    unconverted: int = 0
    reannounced: int = 0


@dataclass
class Report:
    options: ReportOptions
    rows: list[Row] = field(default_factory=list)
    total: Decimal = Decimal("0.00")
    pledges: int = 0
    unvalued: int = 0
    unconverted: int = 0
    reannounced: int = 0


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
    if isinstance(group_by, list):
        group_by = ",".join(group_by)
    keys = tuple(key.strip().lower() for key in (group_by or "").split(",") if key.strip())
    unknown = [key for key in keys if key not in KEYS]
    if unknown:
        errors["group_by"] = (
            f"Unknown key {', '.join(unknown)}: choose one or two of {', '.join(KEYS)}."
        )
    elif len(keys) > MAX_KEYS:
        errors["group_by"] = f"At most {MAX_KEYS} keys, comma-separated."
    elif len(set(keys)) != len(keys):
        errors["group_by"] = "A key is given twice."

    code = normalise_code(currency) or conversion.EURO
    if not is_currency(code):
        errors["currency"] = f"{code} is not an ISO 4217 currency code."
    elif code != conversion.EURO and not ExchangeRate.objects.filter(currency=code).exists():
        errors["currency"] = f"No exchange rates are stored for {code}."

    allocation = (allocation or ANNOUNCEMENT).strip().lower()
    if allocation not in ALLOCATIONS:
        errors["allocation"] = f"Choose {' or '.join(ALLOCATIONS)}."
    elif allocation == PERIOD and "group_by" not in errors:
        if "year" not in keys:
            errors["allocation"] = "allocation=period needs year in group_by."
        elif {"quarter", "month"} & set(keys):
            errors["allocation"] = "allocation=period spreads over years, not quarters or months."

    output = (format or formats[0]).strip().lower()
    if output not in formats:
        errors["format"] = f"Choose {' or '.join(formats)}."
    if errors:
        raise ReportError(errors)
    return ReportOptions(keys, code, allocation, output)


def totals(pledges: QuerySet, options: ReportOptions, *, include_cancelled: bool = False) -> Report:
    """The report of ``options`` over ``pledges`` (already filtered).

    Cancelled pledges are left out unless ``include_cancelled`` (the status filter asked for
    them). One query, two with ``allocation=period``.
    """
    pledges = pledges.order_by()
    if pledges.query.distinct:
        # A filter made it DISTINCT (django-filter does for multiple choices); annotations
        # cannot be summed over that, and a pledge is in the set or not.
        pledges = Pledge.objects.filter(pk__in=pledges.values("pk"))
    if not include_cancelled:
        pledges = pledges.exclude(status=PledgeStatus.CANCELLED)
    period = options.allocation == PERIOD
    pledges = pledges.annotate(
        r_year=ExtractYear("announced_on"),
        r_quarter=ExtractQuarter("announced_on"),
        r_month=ExtractMonth("announced_on"),
    )
    report = Report(options)
    if not options.group_by or period:
        # With allocation=period a pledge is in several rows but counts once overall.
        _fill(report, _summed(pledges, [], options.currency, period=period)[0])
        if not options.group_by:
            return report

    columns = list(dict.fromkeys(c for key in options.group_by for c in _KEY_COLUMNS[key]))
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
    grouped = _summed(pledges, columns, options.currency, period=period)
    rows = _spread_over_years(grouped, options) if period else _rows(grouped, options)
    report.rows = sorted(rows, key=lambda row: (-row.total, _sort_label(row)))
    if not period:
        # Each pledge is in exactly one row: the overall figures are the rows added up.
        report.total = sum((row.total for row in rows), Decimal("0.00"))
        for figure in FIGURES[1:]:
            setattr(report, figure, sum(getattr(row, figure) for row in rows))
    return report


def _pledge_rows(pledges: QuerySet, columns: list[str], *, period: bool) -> QuerySet:
    """One row per pledge: its keys and what its conversion needs but the target rate.

    ``money`` is converted and counted ``copies`` times: the total once, or with ``period``
    a per-year amount once per year of its period, so that every year gets the same value.
    ``source_rate`` is NULL when the pledge's currency has no usable rate.
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
        "reannounces_id",
        money=money,
        copies=copies,
        source_rate=expressions.rate_of_field("currency", "announced_on"),
    )


def _target_rates(pledges: QuerySet, currency: str) -> QuerySet:
    """The rate of ``currency`` on each announcement date of ``pledges``, looked up once per
    date rather than once per pledge."""
    first_of_each_date = pledges.values("announced_on").annotate(first=Min("id")).values("first")
    return (
        Pledge.objects.filter(pk__in=first_of_each_date)
        .order_by()
        .values("announced_on", rate=expressions.rate_of_currency(currency, "announced_on"))
    )


def _component_cents(currency: str) -> QuerySet:
    """What the non-cancelled components of each package are worth in ``currency``."""
    return (
        Pledge.objects.filter(parent__isnull=False, total_amount__isnull=False)
        .exclude(status=PledgeStatus.CANCELLED)
        .order_by()
        .values(package_id=F("parent_id"))
        .annotate(
            cents=Sum(
                expressions.converted_cents_expression(
                    "total_amount", "currency", currency, "announced_on"
                )
            )
        )
    )


_SUMMED_SQL = """
WITH pledge AS {materialized} ({pledges}),
target AS ({target}),
components AS ({components})
SELECT {keys}
    COALESCE(SUM(CASE WHEN p.reannounces_id IS NULL THEN {counted} ELSE 0 END), 0),
    COUNT(*),
    COUNT(CASE WHEN p.reannounces_id IS NULL AND p.amount IS NULL THEN 1 END),
    COUNT(CASE WHEN p.reannounces_id IS NULL AND p.amount IS NOT NULL
        AND (p.source_rate IS NULL OR t.rate IS NULL) THEN 1 END),
    COUNT(p.reannounces_id)
FROM pledge p
    LEFT JOIN target t ON t.announced_on = p.announced_on
    LEFT JOIN components k ON k.package_id = p.id
{group_by}
"""


def _summed(pledges: QuerySet, columns: list[str], currency: str, *, period: bool) -> list[dict]:
    """The figures of ``pledges`` summed by ``columns`` into ``currency``: one query, one dict
    of the columns and figures per group.

    The ORM writes the parts (the pledges' rows with their filters and keys, the rates, the
    components) and the arithmetic; this query puts them together. Summed by the ORM
    directly, every aggregate would repeat the rate look-ups, for each pledge and each of its
    components. Here, as in hand-written SQL, each pledge's rate is looked up once (the
    MATERIALIZED common table expression is computed once, not inlined into each aggregate),
    the target currency's once per date, and the components are summed once per package.

    A pledge counts its money converted, ``copies`` times, less what its components are worth,
    never below zero; nothing when it is unvalued or unconverted. A re-announcement counts
    only in ``n_pledges`` and ``n_reannounced``.
    """
    connection = connections[pledges.db]
    own = ExpressionWrapper(
        expressions.ConvertedCents(
            RawSQL("p.money", ()), RawSQL("p.source_rate", ()), RawSQL("t.rate", ())
        )
        * RawSQL("p.copies", ()),
        output_field=BigIntegerField(),
    )
    components = Coalesce(RawSQL("k.cents", ()), Value(0), output_field=BigIntegerField())
    counted, counted_params = pledges.query.get_compiler(connection=connection).compile(
        Greatest(own - components, Value(0), output_field=BigIntegerField())
    )
    pledge_rows = _pledge_rows(pledges, columns, period=period)
    pledge_sql, pledge_params = pledge_rows.query.sql_with_params()
    target_sql, target_params = _target_rates(pledges, currency).query.sql_with_params()
    component_sql, component_params = _component_cents(currency).query.sql_with_params()
    keys = ", ".join(f"p.{connection.ops.quote_name(column)}" for column in columns)
    sql = _SUMMED_SQL.format(
        # Only PostgreSQL needs to be fast; SQLite before 3.35 has no such keyword.
        materialized="MATERIALIZED" if connection.vendor == "postgresql" else "",
        pledges=pledge_sql,
        target=target_sql,
        components=component_sql,
        keys=keys + "," if keys else "",
        counted=counted,
        group_by=f"GROUP BY {keys}" if keys else "",
    )
    # In the order they appear in the SQL.
    params = (*pledge_params, *target_params, *component_params, *counted_params)
    query = pledges.query.clone()  # resolving a key may add a join
    fields = {column: query.resolve_ref(column).output_field for column in columns}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {
                **{column: fields[column].to_python(row[i]) for i, column in enumerate(columns)},
                **dict(zip(_FIGURES_SUMMED, row[len(columns) :], strict=True)),
            }
            for row in cursor.fetchall()
        ]


_FIGURES_SUMMED = ("total_cents", "n_pledges", "n_unvalued", "n_unconverted", "n_reannounced")


def _fill(target: Report | Row, figures: dict) -> None:
    target.total = Decimal(int(figures["total_cents"])).scaleb(-2)
    target.pledges = figures["n_pledges"]
    target.unvalued = figures["n_unvalued"]
    target.unconverted = figures["n_unconverted"]
    target.reannounced = figures["n_reannounced"]


def _rows(grouped, options: ReportOptions) -> list[Row]:
    rows = []
    for values in grouped:
        row = Row({key: _key_value(key, values) for key in options.group_by})
        _fill(row, values)
        rows.append(row)
    return rows


def _spread_over_years(grouped, options: ReportOptions) -> list[Row]:
    """``allocation=period``: a per-year pledge in each year of its period
    (docs/methodology.md#per-year-amounts).

    The groups come from the database by (keys, first year, last year); each is spread here
    over its years, an equal share of cents each and the odd cents in the first year.
    """
    merged: dict[tuple, Row] = {}
    for values in grouped:
        first, last = values["r_first"], values["r_last"]
        years = last - first + 1
        share, odd = divmod(int(values["total_cents"]), years)
        for year in range(first, last + 1):
            keys = {
                key: year if key == "year" else _key_value(key, values) for key in options.group_by
            }
            identity = tuple(_identity(keys[key]) for key in options.group_by)
            row = merged.setdefault(identity, Row(keys))
            cents = share + (odd if year == first else 0)
            row.total += Decimal(cents).scaleb(-2)
            row.pledges += values["n_pledges"]
            row.unvalued += values["n_unvalued"]
            row.unconverted += values["n_unconverted"]
            row.reannounced += values["n_reannounced"]
    return list(merged.values())


def _identity(value):
    return value["id"] if isinstance(value, dict) else value


def _key_value(key: str, values: dict):
    if key == "donor":
        return {
            "id": values["donor_id"],
            "name": values["donor__name"],
            "iso2": values["donor__iso2"],
        }
    if key == "category":
        return {
            "id": values["category_id"],
            "slug": values["category__slug"],
            "name": values["category__name"],
        }
    if key == "event":
        if values["event_id"] is None:
            return None
        return {
            "id": values["event_id"],
            "name": values["event__name"],
            "date": values["event__date"],
        }
    if key == "currency":
        return values["currency"] or None
    if key == "year":
        return values["r_year"]
    if key == "quarter":
        return f"{values['r_year']}-Q{values['r_quarter']}"
    if key == "month":
        return f"{values['r_year']}-{values['r_month']:02d}"
    return values[key]


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
            "total": money(target.total),
            **{figure: getattr(target, figure) for figure in FIGURES[1:]},
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
