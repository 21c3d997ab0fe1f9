"""The error of refused writes that carry rows (a pledge's items and sources, a record's items
and sources), shared by the pledge and the fulfilment write paths."""

from typing import Any

from django.core.exceptions import ValidationError


class RowsValidationError(ValidationError):
    """Refused data. ``detail`` names every bad field; for a list of rows (``items``,
    ``sources``) it holds one dict of errors per row (empty for a good row), as an API would
    answer them. ``message_dict`` has the same keys with the row errors spelt out (Django's
    ValidationError would flatten the row dicts), and ``children`` is the per-row part of
    ``detail`` alone."""

    def __init__(self, detail: dict[str, Any]):
        self.detail = detail
        self.children = {
            field: rows
            for field, rows in detail.items()
            if rows and all(isinstance(row, dict) for row in rows)
        }
        flat: dict[str, list[str]] = {}
        for field, errors in detail.items():
            if field in self.children:
                flat[field] = [
                    f"row {row}: {name}: {message}"
                    for row, row_errors in enumerate(errors, start=1)
                    for name, messages in row_errors.items()
                    for message in messages
                ]
            else:
                flat[field] = list(errors)
        super().__init__(flat)
