"""Writes that several entry points share (commands, the API, imports)."""

from django.db import transaction

from .conversion import RateTable
from .models import Pledge

DERIVED_FIELDS = ["total_amount", "value_eur", "rate_date"]


def recompute_derived_values(*, batch_size: int = 2000) -> int:
    """Recompute every pledge's total and EUR value after the rates changed.

    Returns how many pledges changed. A change of rates is not an editorial change: no history
    row is written and the version stays as it is.
    """
    rates = RateTable.from_db()
    changed = 0
    batch: list[Pledge] = []
    with transaction.atomic():
        for pledge in Pledge.objects.only(
            "id",
            "amount",
            "currency",
            "amount_basis",
            "period_start_year",
            "period_end_year",
            "announced_on",
            "recipient",
            *DERIVED_FIELDS,
        ).iterator(chunk_size=batch_size):
            before = tuple(getattr(pledge, field) for field in DERIVED_FIELDS)
            pledge.refresh_derived(rates)
            if tuple(getattr(pledge, field) for field in DERIVED_FIELDS) != before:
                batch.append(pledge)
            if len(batch) >= batch_size:
                Pledge.objects.bulk_update(batch, DERIVED_FIELDS)
                changed += len(batch)
                batch = []
        if batch:
            Pledge.objects.bulk_update(batch, DERIVED_FIELDS)
            changed += len(batch)
    return changed
