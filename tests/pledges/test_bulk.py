"""Bulk writes of imports: COPY on PostgreSQL writes what simple_history's bulk path writes, and
the package rules read in bulk answer what they read row by row."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pledges import bulk
from pledges.models import ExchangeRate, Pledge, PledgeItem, Source
from pledges.package_rules import PackageFacts, PackageLookups
from pledges.services import set_derived_values, store_pledge
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory

AWKWARD = [
    "tab\there",
    "line\nbreak\r\n",
    "back\\slash \\N",
    r"\N",
    "",
    "quote \" ' \u00d7",
    "é ü 😀",
]


def new_pledges(donor, category, label: str) -> list[Pledge]:
    pledges = []
    for index, text in enumerate(AWKWARD):
        pledge = Pledge(
            donor=donor,
            category=category,
            announced_on=dt.date(2025, 6, 4) - dt.timedelta(days=index),
            title=f"{label} {text}",
            description=text,
            amount=Decimal("1234.56") if index % 2 else None,
            currency="USD" if index % 2 else "",
            amount_basis="per_year" if index == 3 else "total",
            period_start_year=2025 if index == 3 else None,
            period_end_year=2027 if index == 3 else None,
            external_ref=f"{label}-{index}" if index % 3 else None,
        )
        set_derived_values(pledge, ExchangeRate.objects)
        pledges.append(pledge)
    return pledges


def children(pledges) -> tuple[list[PledgeItem], list[Source]]:
    items = [
        PledgeItem(pledge=pledge, name=text or "x", quantity=index or None)
        for index, (pledge, text) in enumerate(zip(pledges, AWKWARD, strict=True))
    ]
    sources = [
        Source(
            pledge=pledge,
            url=f"https://example.org/{index}?q=a\tb",
            publisher=text or "p",
            title=text,
            published_on=dt.date(2025, 6, 5) if index % 2 else None,
        )
        for index, (pledge, text) in enumerate(zip(pledges, AWKWARD, strict=True))
    ]
    return items, sources


def save_one_by_one(objs, model, *, user, change_reason: str, date) -> None:
    """The oracle: each object saved on its own, its history row written by simple_history's
    ``post_save`` receiver with the same user, reason and date."""
    for obj in objs:
        obj._history_user = user
        obj._change_reason = change_reason
        obj._history_date = date
        obj.save()


def values(obj: Model, skip: set[str]) -> dict:
    return {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if field.attname not in skip
    }


@pytest.mark.django_db
def test_create_with_history_writes_what_simple_history_writes():
    """``create_with_history`` (COPY on PostgreSQL, simple_history's bulk path elsewhere)
    writes the rows and history rows that saving each object through the ORM writes (its
    ``post_save`` history), on both databases."""
    donor, category = DonorFactory(), CategoryFactory()
    user = User.objects.create_user("importer")
    when = timezone.now()
    written = {}
    for label in ("orm", "copy"):
        pledges = new_pledges(donor, category, label)
        write = save_one_by_one if label == "orm" else bulk.create_with_history
        write(pledges, Pledge, user=user, change_reason="why", date=when)
        assert all(pledge.pk and not pledge._state.adding for pledge in pledges)
        items, sources = children(pledges)
        for model, objs in ((PledgeItem, items), (Source, sources)):
            write(objs, model, user=user, change_reason="why", date=when)
        written[label] = pledges

    ids = {label: [pledge.pk for pledge in pledges] for label, pledges in written.items()}

    def stored(label):
        pledges = Pledge.objects.filter(pk__in=ids[label]).order_by("pk")
        pledge_skip = {"id", "created_at", "updated_at", "external_ref", "title"}
        child_skip = {"id", "pledge_id"}
        history_skip = {"id", "history_id", "created_at", "external_ref", "title", "pledge_id"}
        return (
            [values(p, pledge_skip) | {"title": p.title.split(" ", 1)[1]} for p in pledges],
            [p.title.split(" ", 1)[1] for p in pledges],
            [values(i, child_skip) for i in PledgeItem.objects.filter(pledge_id__in=ids[label])],
            [values(s, child_skip) for s in Source.objects.filter(pledge_id__in=ids[label])],
            [
                values(h, history_skip)
                for model, key in ((Pledge, "id"), (PledgeItem, "pledge_id"), (Source, "pledge_id"))
                for h in model.history.filter(**{f"{key}__in": ids[label]}).order_by("history_id")
            ],
        )

    orm, copied = stored("orm"), stored("copy")
    assert copied == orm
    assert copied[1] == AWKWARD  # every character came back
    pledge = Pledge.objects.get(pk=ids["copy"][0])
    record = pledge.history.get()
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+",
        user,
        "why",
    )
    assert record.history_date == when
    assert record.created_at == pledge.created_at
    assert [p.external_ref for p in written["copy"]] == [
        f"copy-{index}" if index % 3 else None for index in range(len(AWKWARD))
    ]


@pytest.mark.django_db
def test_create_with_history_refuses_saved_objects():
    pledge = PledgeFactory()
    if connection.vendor != "postgresql":
        pytest.skip("COPY is for PostgreSQL; elsewhere simple_history's bulk path writes.")
    with pytest.raises(ValueError, match="already has a primary key"):
        bulk.create_with_history([pledge], Pledge, user=None, change_reason="", date=None)


@pytest.mark.django_db
def test_a_row_the_database_refuses_raises_djangos_error():
    pledge = PledgeFactory()
    with pytest.raises(IntegrityError, match="pledgeitem_quantity_positive"):
        bulk.create_with_history(
            [
                PledgeItem(pledge=pledge, name="ok", quantity=1),
                PledgeItem(pledge=pledge, name="x", quantity=0),
            ],
            PledgeItem,
            user=None,
            change_reason="",
            date=timezone.now(),
        )


@pytest.mark.django_db
def test_package_facts_answer_what_the_database_answers():
    donor = DonorFactory()
    package = PledgeFactory(donor=donor, amount=Decimal("100.00"))
    store_pledge(package)
    kept = PledgeFactory(donor=donor, parent=package, amount=Decimal("10.00"))
    store_pledge(kept)
    cancelled = PledgeFactory(donor=donor, parent=package, amount=Decimal("5.00"))
    cancelled.status = "cancelled"
    store_pledge(cancelled)
    alone = PledgeFactory(donor=donor)
    store_pledge(alone)
    store_pledge(PledgeFactory(donor=donor, reannounces=alone))
    pks = [package.pk, kept.pk, cancelled.pk, alone.pk, 10**9]
    with CaptureQueriesContext(connection) as queries:
        facts = PackageFacts(pks, pks)
    loaded = len(queries)
    row_by_row = PackageLookups()
    with CaptureQueriesContext(connection) as queries:
        for pk in pks:
            assert facts.package(pk) == row_by_row.package(pk)
            assert facts.has_components(pk) == row_by_row.has_components(pk)
            assert facts.component_values(pk) == row_by_row.component_values(pk)
            assert facts.reannouncements(pk) == row_by_row.reannouncements(pk)
    # The facts asked nothing more; the rest were the row-by-row look-ups (4 per pk).
    assert len(queries) == 4 * len(pks)
    # packages, who has components, who re-announces them, component values
    assert loaded == 4
    assert facts.reannouncements(alone.pk) == [(donor.pk, alone.announced_on)]
    assert facts.component_values(package.pk) == {kept.pk: Decimal("10.00")}
    assert facts.package(10**9) is None
    assert facts.has_components(package.pk) and not facts.has_components(kept.pk)
