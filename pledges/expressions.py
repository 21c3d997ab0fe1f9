"""The conversion rule of ``conversion`` inside the database, for reports
(docs/methodology.md#currency-conversion).

``ConvertedCents`` computes in exact numeric arithmetic on PostgreSQL and, on SQLite (no decimal
type), in floating point, except for the few values within a rounding error of half a cent:
those go to a Python function registered on each connection with the Decimal arithmetic of
``conversion.convert``, so that both databases give the same cents.
"""

from decimal import Decimal

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    DateField,
    DecimalField,
    Expression,
    Func,
    OuterRef,
    Subquery,
    Value,
)

from .codes import normalise_code
from .conversion import EURO, round_money
from .models import ExchangeRate

RATE_FIELD = DecimalField(max_digits=18, decimal_places=6)


class DaysBefore(Func):
    """``date`` minus a whole number of days, as a date, on PostgreSQL and SQLite alike."""

    output_field = DateField()

    def __init__(self, date, days: int):
        self.days = int(days)
        super().__init__(date)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} - {self.days})", params

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, '-{self.days} days')", params


def _latest_rate(currency, on_date: str) -> Subquery:
    """The newest usable stored rate of ``currency`` (a code or an ``OuterRef``) on the date
    field ``on_date`` of the outer rows; NULL when there is none."""
    return Subquery(
        ExchangeRate.objects.filter(
            currency=currency,
            date__lte=OuterRef(on_date),
            date__gte=DaysBefore(OuterRef(on_date), settings.EXCHANGE_RATE_MAX_AGE_DAYS),
        )
        .order_by("-date")
        .values("rate")[:1],
        output_field=RATE_FIELD,
    )


def rate_of_currency(currency: str, on_date: str) -> Expression:
    """The rate ``ExchangeRate.objects.rate_for(currency, …)`` would use, for the date field
    ``on_date`` of each row (NULL when there is none)."""
    code = normalise_code(currency)
    if code == EURO:
        return Value(Decimal(1), output_field=RATE_FIELD)
    return _latest_rate(code, on_date)


class ConvertedCents(Func):
    """``money`` * target rate / source rate in whole cents, rounded half up like ``convert``;
    NULL when a rate is missing.

    PostgreSQL computes it in exact numeric arithmetic. SQLite has no decimal type: it computes
    in floating point, which is exact enough to round correctly unless the value is within a
    rounding error of half a cent (as 54.115 may be). For those few rows only, the same Decimal
    arithmetic as ``convert`` runs in a function registered on each connection
    (``register_sqlite_functions``).
    """

    output_field = BigIntegerField()
    arity = 3

    def __init__(self, money, source_rate, target_rate):
        super().__init__(money, source_rate, target_rate)

    def as_sql(self, compiler, connection, **extra_context):
        (money, money_params), (source, source_params), (target, target_params) = (
            compiler.compile(expression) for expression in self.source_expressions
        )
        return (
            f"CAST(ROUND((({money}) * ({target}) / ({source})) * 100) AS bigint)",
            (*money_params, *target_params, *source_params),
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        (money, money_params), (source, source_params), (target, target_params) = (
            compiler.compile(expression) for expression in self.source_expressions
        )
        cents = f"(({money}) * 100.0 * ({target}) / ({source}))"
        cents_params = (*money_params, *target_params, *source_params)
        # Doubles carry 53 bits: the float is within 1e-15 of the exact value, relatively.
        near_half = f"ABS({cents} - CAST({cents} AS INTEGER) - 0.5) <= {cents} * 1e-13 + 1e-9"
        exact = f"{SQLITE_CONVERTED_CENTS}({money}, {source}, {target})"
        # NULL (a rate missing) needs no case of its own: the test of ``near_half`` is then
        # NULL, not true, and the CAST of NULL is NULL. (A report evaluates this a few times
        # for each of a million pledges: every operation counts.)
        return (
            f"(CASE WHEN {near_half} THEN {exact} ELSE CAST({cents} + 0.5 AS INTEGER) END)",
            (
                *cents_params,
                *cents_params,
                *cents_params,
                *money_params,
                *source_params,
                *target_params,
                *cents_params,
            ),
        )


SQLITE_CONVERTED_CENTS = "pledges_converted_cents"


def _sqlite_converted_cents(money, source_rate, target_rate):
    if money is None or source_rate is None or target_rate is None:
        return None
    value = Decimal(str(money)) * Decimal(str(target_rate)) / Decimal(str(source_rate))
    return int(round_money(value) * 100)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: the SQLite half of ``ConvertedCents``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_CONVERTED_CENTS, 3, _sqlite_converted_cents, deterministic=True
        )
