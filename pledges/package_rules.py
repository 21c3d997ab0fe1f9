"""The rules that read other pledges (docs/methodology.md#no-double-counting): one level of
packages, a component has its package's donor, and the non-cancelled components are worth no
more than their package (in EUR); a re-announcement names an earlier (or same-day) pledge of
the same donor, not itself nor, through others, itself again.

They read other pledges, so they are not in ``Pledge.clean()`` (which checks one pledge on its
own, without queries): ``check_package_rules`` is called by ``services.validate_pledge`` (the
API and the importer) and by the admin's pledge form. What it reads comes from a
``PackageLookups`` (one query at a time) or a ``PackageFacts`` (loaded for many pledges at
once, for imports), and the rates from a ``conversion.RateSource``; both are arguments.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from . import conversion
from .choices import PledgeStatus
from .models import Pledge


@dataclass(frozen=True)
class PackageRow:
    pk: int
    parent_id: int | None
    donor_id: int
    value_eur: Decimal | None


class PackageLookups:
    """What the package rules read from the database, one query at a time.

    ``PackageFacts`` answers the same questions from memory for many pledges at once (imports).
    """

    def package(self, pk: int) -> PackageRow | None:
        row = Pledge.objects.filter(pk=pk).values_list("parent_id", "donor_id", "value_eur")
        found = row.first()
        return PackageRow(pk, *found) if found else None

    def has_components(self, pk: int) -> bool:
        return Pledge.objects.filter(parent_id=pk).exists()

    def reannouncements(self, pk: int) -> list[tuple[int, dt.date]]:
        """(donor id, announcement date) of the pledges that re-announce this one."""
        later = Pledge.objects.filter(reannounces_id=pk)
        return list(later.values_list("donor_id", "announced_on"))

    def component_values(self, package_id: int) -> dict[int, Decimal | None]:
        """The EUR values of the package's components that are not cancelled, by pk."""
        return dict(
            Pledge.objects.filter(parent_id=package_id)
            .exclude(status=PledgeStatus.CANCELLED)
            .values_list("pk", "value_eur")
        )


class PackageFacts(PackageLookups):
    """``PackageLookups`` loaded for many pledges in a few queries, to validate them in turn.

    ``package_ids`` are the packages the pledges name; ``pledge_ids`` the stored pledges being
    changed. The answers are those of the database when loaded: load again after writing.
    Anything not loaded is asked of the database.
    """

    def __init__(self, package_ids, pledge_ids, chunk_size: int = 2000):
        self._packages: dict[int, PackageRow] = {}
        self._with_components: set[int] = set()
        self._reannouncements: dict[int, list] = {}
        self._components: dict[int, dict[int, Decimal | None]] = {}
        package_ids, pledge_ids = sorted(set(package_ids)), sorted(set(pledge_ids))
        self._loaded_packages, self._loaded_pledges = set(package_ids), set(pledge_ids)
        owners = sorted(self._loaded_packages | self._loaded_pledges)
        for pk in owners:
            self._components[pk] = {}
        for chunk in _chunks(package_ids, chunk_size):
            for pk, *values in Pledge.objects.filter(pk__in=chunk).values_list(
                "pk", "parent_id", "donor_id", "value_eur"
            ):
                self._packages[pk] = PackageRow(pk, *values)
        for chunk in _chunks(pledge_ids, chunk_size):
            self._with_components.update(
                Pledge.objects.filter(parent_id__in=chunk).values_list("parent_id", flat=True)
            )
            for pk, *later in Pledge.objects.filter(reannounces_id__in=chunk).values_list(
                "reannounces_id", "donor_id", "announced_on"
            ):
                self._reannouncements.setdefault(pk, []).append(tuple(later))
        for chunk in _chunks(owners, chunk_size):
            for parent_id, pk, value in (
                Pledge.objects.filter(parent_id__in=chunk)
                .exclude(status=PledgeStatus.CANCELLED)
                .values_list("parent_id", "pk", "value_eur")
            ):
                self._components[parent_id][pk] = value

    def package(self, pk: int) -> PackageRow | None:
        if pk not in self._loaded_packages:
            return super().package(pk)
        return self._packages.get(pk)

    def has_components(self, pk: int) -> bool:
        if pk not in self._loaded_pledges:
            return super().has_components(pk)
        return pk in self._with_components

    def reannouncements(self, pk: int) -> list[tuple[int, dt.date]]:
        if pk not in self._loaded_pledges:
            return super().reannouncements(pk)
        return self._reannouncements.get(pk, [])

    def component_values(self, package_id: int) -> dict[int, Decimal | None]:
        if package_id not in self._components:
            return super().component_values(package_id)
        return dict(self._components[package_id])


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start : start + size]


Refuse = Callable[[str, str], None]


def check_package_rules(
    pledge: Pledge, *, lookups: PackageLookups, rates: conversion.RateSource
) -> dict[str, list[str]]:
    """The package rules' objections to ``pledge`` as it would be saved, by field (empty: none).

    ``pledge`` has been through ``full_clean()`` (its codes are normalised).
    """
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if pledge.parent_id is None:
        value = value_eur_for_check(pledge, rates) if pledge.pk is not None else None
        if value is not None:  # a stored package: its components must still fit
            _check_components_fit(lookups.component_values(pledge.pk), value, refuse)
    elif pledge.pk is not None and pledge.parent_id == pledge.pk:
        refuse("parent", "A pledge cannot be its own package.")
    else:
        _check_component(pledge, lookups, rates, refuse)
    _check_reannouncement(pledge, lookups, refuse)
    return errors


def _check_component(pledge: Pledge, lookups: PackageLookups, rates, refuse: Refuse) -> None:
    parent = lookups.package(pledge.parent_id)
    if parent is None:
        refuse("parent", "The package does not exist.")
        return
    if parent.parent_id is not None:
        refuse("parent", "A component cannot be the package of another pledge.")
    if pledge.pk is not None and lookups.has_components(pledge.pk):
        refuse("parent", "A package cannot be a component of another package.")
    if parent.donor_id != pledge.donor_id and pledge.donor_id is not None:
        refuse("parent", "A component must have the same donor as its package.")
    if pledge.status != PledgeStatus.CANCELLED and parent.value_eur is not None:
        values = lookups.component_values(parent.pk)
        values[pledge.pk] = value_eur_for_check(pledge, rates)
        _check_components_fit(values, parent.value_eur, refuse)


def _check_reannouncement(pledge: Pledge, lookups: PackageLookups, refuse: Refuse) -> None:
    """A re-announcement names an earlier (or same-day) pledge of the same donor, never itself
    nor, through others, itself again; a pledge that others re-announce keeps their donor and
    comes no later than they do."""
    if pledge.pk is not None:
        later = lookups.reannouncements(pledge.pk)
        if pledge.donor_id is not None and any(donor != pledge.donor_id for donor, _ in later):
            refuse("donor", "Pledges of another donor would re-announce this one.")
        if pledge.announced_on and any(date < pledge.announced_on for _, date in later):
            refuse("announced_on", "A pledge re-announcing this one comes before it.")
    if pledge.reannounces_id is None:
        return
    if pledge.pk is not None and pledge.reannounces_id == pledge.pk:
        refuse("reannounces", "A pledge cannot re-announce itself.")
        return
    earlier = Pledge.objects.filter(pk=pledge.reannounces_id).values("donor_id", "announced_on")
    earlier = earlier.first()
    if earlier is None:
        refuse("reannounces", "The re-announced pledge does not exist.")
        return
    if pledge.donor_id is not None and earlier["donor_id"] != pledge.donor_id:
        refuse("reannounces", "A pledge can only re-announce a pledge of the same donor.")
    if pledge.announced_on and earlier["announced_on"] > pledge.announced_on:
        refuse("reannounces", "The re-announced pledge must come on or before this one.")
    if pledge.pk is not None and pledge.pk in _reannouncement_chain(pledge.reannounces_id):
        refuse("reannounces", "Re-announcements cannot go round in a circle.")


def _reannouncement_chain(pk: int | None) -> set[int]:
    """``pk`` and every pledge it re-announces, directly or through others (one query a step;
    the chain stops where it would repeat itself)."""
    seen: set[int] = set()
    while pk is not None and pk not in seen:
        seen.add(pk)
        pk = Pledge.objects.filter(pk=pk).values_list("reannounces_id", flat=True).first()
    return seen


def value_eur_for_check(pledge: Pledge, rates: conversion.RateSource) -> Decimal | None:
    """The EUR value the pledge would be saved with."""
    if pledge.amount is None or not pledge.currency or pledge.announced_on is None:
        return None
    total = conversion.pledge_total(
        pledge.amount, pledge.amount_basis, pledge.period_start_year, pledge.period_end_year
    )
    converted = conversion.convert(
        total, pledge.currency, conversion.EURO, pledge.announced_on, rates
    )
    return converted.value if converted else None


def _check_components_fit(
    values: dict[int | None, Decimal | None], package_value: Decimal, refuse: Refuse
) -> None:
    """Refuse when the package's non-cancelled, valued components exceed its EUR value."""
    components_sum = sum((v for v in values.values() if v is not None), Decimal(0))
    if components_sum > package_value:
        refuse(
            "amount",
            f"The components are worth €{components_sum:,.2f}, more than their package "
            f"(€{package_value:,.2f}).",
        )
