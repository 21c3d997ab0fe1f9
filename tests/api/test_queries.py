"""List and detail make the same number of SQL queries for 1 and for 100 pledges."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from api.serializers import PledgeSerializer
from pledges.models import Pledge
from tests.factories import PledgeFactory, PledgeItemFactory, SourceFactory

URL = "/api/v1/pledges/"


def make(count, refs):
    pledges = []
    for n in range(count):
        package = pledges[0] if pledges and n % 3 == 0 else None
        pledge = PledgeFactory(
            donor=refs["donor"],
            category=refs["category"],
            event=refs["event"],
            amount=1,
            currency="EUR",
            parent=package,
        )
        PledgeItemFactory(pledge=pledge)
        PledgeItemFactory(pledge=pledge, name="radar")
        SourceFactory(pledge=pledge)
        pledges.append(pledge)
    return pledges


def queries(client, url, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    # The savepoints of ATOMIC_REQUESTS aside.
    sql = [q["sql"] for q in captured.captured_queries]
    return len([q for q in sql if "SAVEPOINT" not in q]), response.json()


def test_list_and_detail_queries_do_not_grow(anon, refs):
    first = make(1, refs)[0]
    list_one, body = queries(anon, URL, page_size=1000)
    assert body["count"] == 1
    detail_one, _ = queries(anon, f"{URL}{first.pk}/")

    make(99, refs)
    list_many, body = queries(anon, URL, page_size=1000)
    assert body["count"] == 100
    assert len(body["results"]) == 100
    detail_many, _ = queries(anon, f"{URL}{first.pk}/")
    filtered, _ = queries(anon, URL, page_size=1000, category=refs["category"].slug, search="radar")

    # data version, count, page, items, sources, and the packages' briefs when the page has
    # components (the 100 have, the one has not); the category filter's slug look-up; one
    # pledge, its items, its sources
    assert (list_one, list_many, filtered) == (5, 6, 7)
    assert (detail_one, detail_many) == (3, 3)


def test_history_queries_do_not_grow(anon, editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    one, _ = queries(anon, f"{URL}{pledge_id}/history/")
    for n in range(20):
        editor.patch(f"{URL}{pledge_id}/", {"title": f"T{n}"}, format="json")
    many, body = queries(anon, f"{URL}{pledge_id}/history/")
    assert body["count"] == 21
    # The pledge's versions, then its items' and its sources' history.
    assert one == many == 3


def test_a_pledge_read_without_its_preloaded_lists_is_answered_the_same(anon, refs):
    """The list reads items and sources from the lists its queryset preloaded; a pledge loaded
    any other way reads them through its relations, with the same answer."""
    pledge = make(1, refs)[0]
    listed = anon.get(URL).json()["results"][0]
    plain = json.loads(
        JSONRenderer().render(PledgeSerializer(Pledge.objects.get(pk=pledge.pk)).data)
    )
    assert plain == listed
    assert [item["name"] for item in plain["items"]] == [i.name for i in pledge.items.all()]
    assert [source["id"] for source in plain["sources"]] == [s.pk for s in pledge.sources.all()]
