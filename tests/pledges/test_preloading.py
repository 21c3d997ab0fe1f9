"""``PreloadingQuerySet``: what a page of pledges or records is shown with is loaded by one
query per relation once its rows are read, whatever is chained after, and equals what the
relations themselves answer."""

import pytest

from pledges import models
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
    # The page, items, sources (each in its model's order), the packages' briefs.
    with django_assert_num_queries(4) as captured:
        page = list(Pledge.objects.with_related().order_by("id"))
    items, sources = (query["sql"] for query in captured.captured_queries[1:3])
    assert "pledges_pledgeitem" in items and "ORDER BY" in items
    assert "pledges_source" in sources and "ORDER BY" in sources
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


def test_a_package_deleted_since_the_page_was_read_is_none(pledges, django_assert_num_queries):
    """Under READ COMMITTED a package may be deleted between the page's query and its briefs'
    (once its components were detached): the component then shows none, as with Django's
    prefetch, instead of failing when the package is asked for."""
    page = list(Pledge.objects.order_by("id"))
    component = next(pledge for pledge in page if pledge.parent_id)
    component.parent_id = max(pledge.pk for pledge in pledges) + 1  # no such pledge
    models._load_briefs("parent", PLEDGE_BRIEF_FIELDS, page)
    with django_assert_num_queries(0):
        assert component.parent is None
        assert all(pledge.parent is None for pledge in page if pledge.parent_id is None)


def test_a_preloading_queryset_is_not_read_by_iterator(pledges):
    with pytest.raises(TypeError, match="read whole"):
        next(Pledge.objects.with_related().iterator())
    assert len(list(Pledge.objects.all().iterator())) == len(pledges)
