"""ECB rates read straight from the file bundled with currency_converter, with the csv module:
an oracle for conversions that does not go through the code under test."""

import csv
import datetime as dt
import io
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from currency_converter import CURRENCY_FILE

MAX_AGE = dt.timedelta(days=7)


@cache
def ecb_rates() -> dict[str, dict[dt.date, Decimal]]:
    with zipfile.ZipFile(CURRENCY_FILE) as archive:
        text = archive.read("eurofxref-hist.csv").decode()
    rates: dict[str, dict[dt.date, Decimal]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        day = dt.date.fromisoformat(row["Date"])
        for currency, value in row.items():
            if currency and currency != "Date" and value not in ("N/A", "", None):
                rates.setdefault(currency, {})[day] = Decimal(value)
    return rates


def ecb_rate(currency: str, day: dt.date) -> Decimal:
    """The rate published for exactly that day (KeyError when there is none)."""
    return ecb_rates()[currency][day]


def rate(currency: str, on: dt.date) -> Decimal | None:
    """Units of ``currency`` per euro on ``on`` (or the last ECB day before, within 7 days)."""
    if currency == "EUR":
        return Decimal(1)
    days = ecb_rates().get(currency, {})
    for back in range(MAX_AGE.days + 1):
        day = on - dt.timedelta(days=back)
        if day in days:
            return days[day]
    return None


def convert(amount: Decimal, source: str, target: str, on: dt.date) -> Decimal | None:
    """``amount`` converted at the ECB rates of ``on`` through EUR, rounded half up to cents."""
    source_rate, target_rate = rate(source, on), rate(target, on)
    if source_rate is None or target_rate is None:
        return None
    return (amount * target_rate / source_rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
