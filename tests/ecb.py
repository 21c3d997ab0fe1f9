"""The ECB rates read straight from the bundled file, independently of pledges.conversion."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from functools import cache

from currency_converter import CURRENCY_FILE


@cache
def ecb_rates() -> dict[str, dict[dt.date, Decimal]]:
    with zipfile.ZipFile(CURRENCY_FILE) as archive:
        text = archive.read("eurofxref-hist.csv").decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    rates: dict[str, dict[dt.date, Decimal]] = {}
    for row in rows:
        day = dt.date.fromisoformat(row["Date"])
        for currency, value in row.items():
            if currency and currency != "Date" and value not in ("N/A", "", None):
                rates.setdefault(currency, {})[day] = Decimal(value)
    return rates


def ecb_rate(currency: str, day: dt.date) -> Decimal:
    """The rate published for exactly that day (KeyError when there is none)."""
    return ecb_rates()[currency][day]
