"""``PreloadingQuerySet``: what a page of pledges or records is shown with is loaded by one
query per relation once its rows are read, whatever is chained after, and equals what the
relations themselves answer."""

import pytest

from pledges.models import PLEDGE_BRIEF_FIELDS, PRELOADED, Fulfilment, Pledge
from tests.factories import PledgeFactory, PledgeItemFactory, SourceFactory, add_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def pledges():
    """Six pledges with none to three items and one or two sources, every third one a
    component of the first."""
    made = []
    for n in range(6):
        pledge = PledgeFactory(parent=made[0] if n % 3 == 2 else None, amount=100, currency="EUR")
        for m in range(n % 4):
            PledgeItemFactory(pledge=pledge, name=f"item {m}", quantity=m + 1)
        for _ in range(1 + n % 2):
            SourceFactory(pledge=pledge)
        made.append(pledge)
    return made


def test_a_page_loads_its_lists_and_packages_by_one_query_each(pledges, django_assert_num_queries):
    with django_assert_num_queries(4):  # the page, items, sources, the packages' briefs
        page = list(Pledge.objects.with_related().order_by("id"))
    for pledge in page:
        assert pledge.preloaded_items == list(pledge.items.all())
        assert pledge.preloaded_sources == list(pledge.sources.all())
    with django_assert_num_queries(0):
        for pledge in page:
            assert all(item.pledge is pledge for item in pledge.preloaded_items)
            if pledge.parent_id is None:
                assert pledge.parent is None
            else:
                assert pledge.parent.pk == pledges[0].pk
                assert pledge.parent.title == pledges[0].title
    # The package is loaded by its brief fields only.
    brief = next(pledge.parent for pledge in page if pledge.parent_id)
    assert brief.get_deferred_fields() == {
        field.attname for field in Pledge._meta.concrete_fields
    } - {Pledge._meta.get_field(name).attname for name in PLEDGE_BRIEF_FIELDS}
    assert sum(len(pledge.preloaded_items) for pledge in page) == 0 + 1 + 2 + 3 + 0 + 1


def test_the_loads_survive_chaining_slicing_and_get(pledges, django_assert_num_queries):
    chained = Pledge.objects.with_related().filter(pk__in=[p.pk for p in pledges]).order_by("-id")
    with django_assert_num_queries(4):
        page = list(chained[1:4])
    assert [p.pk for p in page] == [p.pk for p in reversed(pledges)][1:4]
    assert all(hasattr(pledge, attribute) for pledge in page for attribute in PRELOADED.values())
    with django_assert_num_queries(3):  # the pledge, its items, its sources: no package
        one = Pledge.objects.with_related().get(pk=pledges[3].pk)
    assert [item.name for item in one.preloaded_items] == ["item 0", "item 1", "item 2"]


def test_nothing_more_is_read_for_no_rows_or_for_values(pledges, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert list(Pledge.objects.with_related().filter(pk=0)) == []
    with django_assert_num_queries(1):
        ids = list(Pledge.objects.with_related().values_list("pk", flat=True))
    assert sorted(ids) == sorted(p.pk for p in pledges)
    with django_assert_num_queries(1):
        assert Pledge.objects.with_related().count() == len(pledges)


def test_a_page_of_records_loads_its_items_and_sources(pledges, django_assert_num_queries):
    items = list(pledges[3].items.all())
    add_record(pledges[3], items=[(items[0], 1), (items[2], 2)])
    add_record(pledges[1], kind="allocated", amount=10)
    with django_assert_num_queries(3):
        records = list(Fulfilment.objects.preloaded().order_by("id"))
    assert len(records) == 2
    for record in records:
        assert record.preloaded_items == list(record.items.all())
        assert record.preloaded_sources == list(record.sources.all())
    assert [item.item_id for item in records[0].preloaded_items] == [items[0].pk, items[2].pk]
