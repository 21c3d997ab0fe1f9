"""The ECB history read straight from currency_converter's bundled file, independently of
the code under test."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from functools import cache

from currency_converter import CURRENCY_FILE


@cache
def ecb_rows() -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(CURRENCY_FILE) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    return {row["Date"]: row for row in csv.DictReader(io.StringIO(text))}


def ecb_rate(currency: str, on: dt.date) -> Decimal | None:
    """The rate published on exactly that day, None if there is none."""
    row = ecb_rows().get(on.isoformat())
    cell = (row or {}).get(currency, "").strip()
    return Decimal(cell) if cell and cell != "N/A" else None
