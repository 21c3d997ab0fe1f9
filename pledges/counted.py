"""Each pledge's counted value (docs/methodology.md#no-double-counting), kept in the database
so that a report is one aggregate over one table.

A pledge counts its total less what its non-cancelled components are worth, never below zero;
nothing (NULL) when it is unvalued or unconverted. ``Pledge.counted_cents`` holds it in euro
cents, and ``counted_period_cents`` the same for ``allocation=period``, where a per-year
pledge's yearly amount is converted on its own and counted once per year. A report in euros
sums one of these columns; another currency converts each pledge at its stored ``eur_rate``
(``reports``).

``services.prepare_write`` sets what a pledge counts on its own (``own_counted_cents``), before
it is written; ``refresh_counted_values`` then subtracts the components of packages. Every
write path (the write service, the admin, the API's delete, import, the rate reload and
recompute) calls it after writing, with the pledges it wrote or deleted and the packages they
left.
"""

from collections import defaultdict
from collections.abc import Iterable

from .choices import AmountBasis, FulfilmentKind, PledgeStatus
from .conversion import own_counted_cents, period_years, to_cents
from .lifecycle import follow_records, recorded_cents, refresh_lifecycle
from .models import COUNTED_FIELDS, Pledge

CHUNK_SIZE = 2000
_READ = [
    "id",
    "value_eur",
    "amount",
    "eur_rate",
    "amount_basis",
    "period_start_year",
    "period_end_year",
    "undated",
    *COUNTED_FIELDS,
]


def refresh_counted_values(pledge_ids: Iterable[int | None]) -> int:
    """Recompute the counted values of ``pledge_ids`` and of the packages they belong to, from
    what is stored; write those that changed. Returns how many changed.

    Pass every pledge whose value, status or package a write changed, and the package a
    component left (or was deleted from): these are the counted values a write can change.
    """
    ids = sorted({pk for pk in pledge_ids if pk is not None})
    changed = 0
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        packages = Pledge.objects.filter(pk__in=chunk, parent__isnull=False).values_list(
            "parent_id", flat=True
        )
        changed += _refresh(set(chunk) | set(packages))
    return changed


def refresh_packages() -> int:
    """Recompute every package's counted value (after the own values of all pledges changed,
    as when the rates are reloaded)."""
    package_ids = (
        Pledge.objects.filter(parent__isnull=False).order_by().values_list("parent_id", flat=True)
    )
    return refresh_counted_values(set(package_ids))


def _refresh(targets: set[int]) -> int:
    refresh_lifecycle(targets)
    # The status the records decide, with its history row (status alone: no counted value
    # depends on a change between delivered and committed).
    follow_records(targets)
    recorded = recorded_cents(targets)
    components: dict[int, int] = defaultdict(int)
    for package_id, value_eur in (
        Pledge.objects.filter(parent_id__in=targets, value_eur__isnull=False)
        .exclude(status=PledgeStatus.CANCELLED)
        .values_list("parent_id", "value_eur")
    ):
        components[package_id] += to_cents(value_eur)
    stale = []
    for pledge in Pledge.objects.filter(pk__in=targets).only(*_READ):
        counted = counted_cents(pledge, components.get(pledge.pk, 0))
        counted += lifecycle_cents(pledge.undated, counted[0], recorded.get(pledge.pk, {}))
        if counted != tuple(getattr(pledge, name) for name in COUNTED_FIELDS):
            for name, value in zip(COUNTED_FIELDS, counted, strict=True):
                setattr(pledge, name, value)
            stale.append(pledge)
    Pledge.objects.bulk_update(stale, COUNTED_FIELDS, batch_size=CHUNK_SIZE)
    return len(stale)


def counted_cents(pledge: Pledge, components: int) -> tuple[int | None, int | None]:
    """A pledge's counted values, less ``components`` (the cents of its non-cancelled
    components), never below zero."""
    years = None
    if pledge.amount_basis == AmountBasis.PER_YEAR:
        years = period_years(pledge.period_start_year, pledge.period_end_year)
    own = own_counted_cents(pledge.value_eur, pledge.amount, pledge.eur_rate, years)
    return tuple(None if cents is None else max(0, cents - components) for cents in own)


def lifecycle_cents(
    undated: bool, counted: int | None, recorded: dict[str, int]
) -> tuple[int | None, int | None]:
    """(allocated, delivered) euro cents that a pledge counting ``counted`` cents counts, from
    its records' cents by kind (``lifecycle.recorded_cents``): never more than ``counted``, all
    of it when ``undated``, and what was delivered also counts as allocated."""
    if counted is None:
        return None, None
    delivered = counted if undated else min(recorded.get(FulfilmentKind.DELIVERED, 0), counted)
    allocated = min(max(recorded.get(FulfilmentKind.ALLOCATED, 0), delivered), counted)
    return allocated, delivered
