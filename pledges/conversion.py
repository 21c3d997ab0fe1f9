"""Currency conversion at ECB euro reference rates (docs/methodology.md#currency-conversion):
the arithmetic, with no database.

Rates are units of a currency per 1 EUR. A value is converted at the rate of its date, or of the
latest ECB date before it, but never of a date more than ``EXCHANGE_RATE_MAX_AGE_DAYS`` older:
then there is no conversion. X → Y goes through EUR on that date. Money is Decimal throughout
and converted values are rounded to cents.

The rates come from a ``RateSource``: ``ExchangeRate.objects`` (one query per look-up, in
``models``) or a ``RateTable`` of the stored rates in memory (many values at once). The same
rule inside the database, for reports, is in ``expressions``; reading ECB files in ``ecb``.
"""

import bisect
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from django.conf import settings

from .choices import AmountBasis
from .codes import normalise_code

EURO = "EUR"
CENT = Decimal("0.01")


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
    source_rate: Decimal  # units of the source currency per euro


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def oldest_usable_rate_date(on_date: dt.date) -> dt.date:
    return on_date - dt.timedelta(days=settings.EXCHANGE_RATE_MAX_AGE_DAYS)


class RateSource(Protocol):
    """Anything that answers ``rate_for``: ``ExchangeRate.objects`` or a ``RateTable``."""

    def rate_for(self, currency: str, on_date: dt.date) -> Rate | None: ...


class RateTable:
    """The stored rates in memory, to convert many values with the same rule as ``rate_for``.

    ``rates_of(code)`` gives a currency's (date, rate) pairs; it is asked once per currency,
    the first time a value in it is converted: a few currencies are used, of the forty or so
    stored, and reading all 220,000 rates of the ECB's history took most of the time of
    loading a dozen pledges.
    """

    def __init__(self, rates_of: Callable[[str], Iterable[tuple[dt.date, Decimal]]]):
        self._rates_of = rates_of
        self._dates: dict[str, list[tuple[dt.date, Decimal]]] = {}

    def rate_for(self, currency: str, on_date: dt.date) -> Rate | None:
        code = normalise_code(currency)
        if code == EURO:
            return Rate(EURO, on_date, on_date, Decimal(1))
        pairs = self._dates.get(code)
        if pairs is None:
            pairs = self._dates[code] = sorted(self._rates_of(code))
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
    rates: RateSource,
) -> Conversion | None:
    """``amount`` in ``from_currency`` expressed in ``to_currency`` at the rates of ``on_date``.

    None when either currency has no usable rate (not published by the ECB, or stale).
    The rate date reported is that of the source currency's rate (the target's for EUR).
    Rates come from ``rates``: ``ExchangeRate.objects``, or a ``RateTable`` for many values.
    """
    source = rates.rate_for(from_currency, on_date)
    target = rates.rate_for(to_currency, on_date)
    if source is None or target is None:
        return None
    value = round_money(amount * target.rate / source.rate)
    rate_date = target.date if source.currency == EURO else source.date
    return Conversion(value, rate_date, source.rate)


def own_counted_cents(
    value_eur: Decimal | None,
    amount: Decimal | None,
    eur_rate: Decimal | None,
    years: int | None,
) -> tuple[int | None, int | None]:
    """What a pledge alone counts in a euro report, in cents: its EUR value, and for
    ``allocation=period`` its yearly amount converted on its own then counted ``years`` times
    (``years`` is None for a pledge that is not per year). None for both when unconverted."""
    if value_eur is None or amount is None or eur_rate is None:
        return None, None
    whole = to_cents(value_eur)
    if years is None:
        return whole, whole
    return whole, to_cents(round_money(amount * Decimal(1) / eur_rate)) * years


def to_cents(value: Decimal) -> int:
    """A money value rounded to cents, as a whole number of cents."""
    return int(value.scaleb(2))


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
