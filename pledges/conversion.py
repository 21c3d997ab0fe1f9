"""Currency conversion at ECB euro reference rates (docs/methodology.md#currency-conversion):
the one place for these rules.

Rates are stored as units of a currency per 1 EUR. A value is converted at the rate of its
date, or of the latest ECB date before it, but never of a date more than
``EXCHANGE_RATE_MAX_AGE_DAYS`` older: then there is no conversion. X → Y goes through EUR on
that date. Money is Decimal throughout and converted values are rounded to cents.
"""

import bisect
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from currency_converter import CURRENCY_FILE, ECB_URL
from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    DateField,
    DecimalField,
    Expression,
    F,
    Func,
    OuterRef,
    Subquery,
    Value,
    When,
)

from .choices import AmountBasis
from .codes import normalise_code

EURO = "EUR"
CENT = Decimal("0.01")
BUNDLED_ECB_FILE = CURRENCY_FILE
ECB_HISTORY_URL = ECB_URL


@dataclass(frozen=True)
class Rate:
    """The rate used for ``currency`` on ``requested_date``, published by the ECB on ``date``."""

    currency: str
    requested_date: dt.date
    date: dt.date
    rate: Decimal  # units of currency per 1 EUR


@dataclass(frozen=True)
class Conversion:
    value: Decimal
    rate_date: dt.date


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def oldest_usable_rate_date(on_date: dt.date) -> dt.date:
    return on_date - dt.timedelta(days=settings.EXCHANGE_RATE_MAX_AGE_DAYS)


def rate_for(currency: str, on_date: dt.date) -> Rate | None:
    """The stored rate that conversion uses for ``currency`` on ``on_date``, if any."""
    from .models import ExchangeRate

    code = normalise_code(currency)
    if code == EURO:
        return Rate(EURO, on_date, on_date, Decimal(1))
    found = (
        ExchangeRate.objects.filter(
            currency=code, date__lte=on_date, date__gte=oldest_usable_rate_date(on_date)
        )
        .order_by("-date")
        .values_list("date", "rate")
        .first()
    )
    if found is None:
        return None
    return Rate(code, on_date, found[0], found[1])


class RateTable:
    """All stored rates in memory, to convert many values with the same rule as ``rate_for``."""

    def __init__(self, rows: Iterable[tuple[str, dt.date, Decimal]]):
        by_currency: dict[str, list[tuple[dt.date, Decimal]]] = {}
        for code, date, rate in rows:
            by_currency.setdefault(code, []).append((date, rate))
        self._dates = {code: sorted(pairs) for code, pairs in by_currency.items()}

    @classmethod
    def from_db(cls) -> "RateTable":
        from .models import ExchangeRate

        return cls(ExchangeRate.objects.values_list("currency", "date", "rate").iterator())

    def rate_for(self, currency: str, on_date: dt.date) -> Rate | None:
        code = normalise_code(currency)
        if code == EURO:
            return Rate(EURO, on_date, on_date, Decimal(1))
        pairs = self._dates.get(code)
        if not pairs:
            return None
        index = bisect.bisect_right(pairs, (on_date, Decimal("Infinity"))) - 1
        if index < 0 or pairs[index][0] < oldest_usable_rate_date(on_date):
            return None
        date, rate = pairs[index]
        return Rate(code, on_date, date, rate)


def convert(
    amount: Decimal,
    from_currency: str,
    to_currency: str,
    on_date: dt.date,
    rates: RateTable | None = None,
) -> Conversion | None:
    """``amount`` in ``from_currency`` expressed in ``to_currency`` at the rates of ``on_date``.

    None when either currency has no usable rate (not published by the ECB, or stale).
    The rate date reported is that of the source currency's rate (the target's for EUR).
    Rates come from the database, or from ``rates`` when many values are converted at once.
    """
    lookup = rates.rate_for if rates is not None else rate_for
    source = lookup(from_currency, on_date)
    target = lookup(to_currency, on_date)
    if source is None or target is None:
        return None
    value = round_money(amount * target.rate / source.rate)
    rate_date = target.date if source.currency == EURO else source.date
    return Conversion(value, rate_date)


def period_years(start_year: int | None, end_year: int | None) -> int:
    """Number of years in an inclusive period."""
    if start_year is None or end_year is None:
        return 0
    return end_year - start_year + 1


def pledge_total(
    amount: Decimal | None,
    basis: str,
    start_year: int | None = None,
    end_year: int | None = None,
) -> Decimal | None:
    """A pledge's total in its own currency: a per-year amount counts once per year."""
    if amount is None:
        return None
    if basis == AmountBasis.PER_YEAR:
        return amount * period_years(start_year, end_year)
    return amount


def read_ecb_history(data: bytes) -> Iterator[tuple[dt.date, str, Decimal]]:
    """(date, currency, rate) triples from an ECB history file (zip or csv bytes).

    The file has one row per date and one column per currency, "N/A" where there is no rate.
    """
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = archive.read(archive.namelist()[0]).decode("utf-8")
    else:
        text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    currencies = [normalise_code(name) for name in header[1:]]
    for row in reader:
        if not row or not row[0].strip():
            continue
        date = dt.date.fromisoformat(row[0].strip())
        for currency, cell in zip(currencies, row[1:], strict=False):
            cell = cell.strip()
            if not currency or not cell or cell == "N/A":
                continue
            try:
                rate = Decimal(cell)
            except InvalidOperation:
                continue
            if rate > 0:
                yield date, currency, rate


def bundled_ecb_history() -> bytes:
    with open(BUNDLED_ECB_FILE, "rb") as handle:
        return handle.read()


def store_rates(triples: Iterable[tuple[dt.date, str, Decimal]], batch_size: int = 5000) -> int:
    """Insert or update rates; returns how many were written."""
    from .models import ExchangeRate

    rows = [ExchangeRate(date=date, currency=code, rate=rate) for date, code, rate in triples]
    ExchangeRate.objects.bulk_create(
        rows,
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=["currency", "date"],
        update_fields=["rate"],
    )
    return len(rows)


# --- the same rule inside the database, for reports --------------------------------------


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


def rate_expression(currency: str, on_date: str) -> Expression:
    """The rate ``rate_for`` would use, looked up in the database (NULL when there is none).

    ``currency`` is a code, or ``on_date`` and a ``currency`` starting with ``field:`` name
    fields of the rows the expression is evaluated on (a pledge's currency and date).
    """
    one = Value(Decimal(1), output_field=DecimalField(max_digits=18, decimal_places=6))
    is_field = currency.startswith(FIELD)
    if is_field:
        currency_field = currency.removeprefix(FIELD)
        wanted = OuterRef(currency_field)
    else:
        wanted = normalise_code(currency)
        if wanted == EURO:
            return one
    from .models import ExchangeRate

    latest = Subquery(
        ExchangeRate.objects.filter(
            currency=wanted,
            date__lte=OuterRef(on_date),
            date__gte=DaysBefore(OuterRef(on_date), settings.EXCHANGE_RATE_MAX_AGE_DAYS),
        )
        .order_by("-date")
        .values("rate")[:1],
        output_field=DecimalField(max_digits=18, decimal_places=6),
    )
    if not is_field:
        return latest
    return Case(When(**{currency_field: EURO}, then=one), default=latest)


FIELD = "field:"


class ConvertedCents(Func):
    """``money`` * target rate / source rate in whole cents, rounded half up like ``convert``;
    NULL when a rate is missing.

    PostgreSQL computes it in exact numeric arithmetic. SQLite has no decimal type and would
    compute in floating point, where a value such as 54.115 may round down; there the same
    Decimal arithmetic as ``convert`` runs in a function registered on each connection
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
        return super().as_sql(
            compiler,
            connection,
            function=SQLITE_CONVERTED_CENTS,
            template="%(function)s(%(expressions)s)",
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


def converted_cents_expression(
    money: str, currency: str, to_currency: str, on_date: str
) -> Expression:
    """``convert(money, currency, to_currency, on_date).value`` in cents, as SQL, for the
    fields ``money``, ``currency`` and ``on_date`` of each row."""
    return ConvertedCents(
        F(money),
        rate_expression(FIELD + currency, on_date),
        rate_expression(to_currency, on_date),
    )
