"""The ECB's euro reference rate history files: reading them, and the copy bundled with
currency_converter (docs/methodology.md#currency-conversion). Storing the rates is
``ExchangeRate.objects.store``."""

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from currency_converter import CURRENCY_FILE, ECB_URL

from .codes import normalise_code

BUNDLED_ECB_FILE = CURRENCY_FILE
ECB_HISTORY_URL = ECB_URL


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
