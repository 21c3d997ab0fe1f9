"""The ``category`` filter takes an id (as writes do) or a slug, on the pledge list, the reports
and the CSV export; repeatable, mixed; an unknown one is a 400 naming it."""

import csv
import io

import pytest

from tests.factories import CategoryFactory, PledgeFactory

LIST = "/api/v1/pledges/"
REPORT = "/api/v1/reports/totals/"
EXPORT = "/api/v1/exports/pledges.csv"


@pytest.fixture
def three(db):
    categories = [CategoryFactory(slug=slug, name=slug.title()) for slug in ("air", "land", "sea")]
    pledges = {
        category.slug: [PledgeFactory(category=category) for _ in range(n + 1)]
        for n, category in enumerate(categories)
    }
    return categories, pledges


def chosen(client, url, query) -> set[str]:
    """The titles a list, a report or an export answers for ``query``."""
    response = client.get(url, {**query, "page_size": 1000})
    assert response.status_code == 200, response.content
    if url == EXPORT:
        rows = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
        return {row["title"] for row in rows}
    if url == REPORT:
        return {row["category"]["slug"] for row in response.json()["rows"]}
    return {row["title"] for row in response.json()["results"]}


@pytest.mark.parametrize("url", [LIST, REPORT, EXPORT])
def test_an_id_and_a_slug_choose_the_same_pledges(anon, three, url):
    (air, land, _), pledges = three
    by_report = url == REPORT
    air_titles = {"air"} if by_report else {p.title for p in pledges["air"]}
    land_titles = {"land"} if by_report else {p.title for p in pledges["land"]}
    report_key = {"group_by": "category"} if by_report else {}
    assert chosen(anon, url, {**report_key, "category": air.pk}) == air_titles
    assert chosen(anon, url, {**report_key, "category": "air"}) == air_titles
    mixed = {**report_key, "category": [air.pk, "land"]}
    assert chosen(anon, url, mixed) == air_titles | land_titles
    both_ways = {**report_key, "category": [str(land.pk), "land"]}
    assert chosen(anon, url, both_ways) == land_titles


@pytest.mark.parametrize("url", [LIST, REPORT, EXPORT])
@pytest.mark.parametrize("bad", ["999999", "no-such-slug", "9" * 40, "-1", "1.5"])
def test_an_unknown_category_is_named(anon, three, url, bad):
    response = anon.get(url, {"category": ["air", bad]})
    assert response.status_code == 400
    assert bad in " ".join(response.json()["category"])


def test_the_category_parameter_says_both_in_the_schema(anon, db):
    schema = anon.get("/api/v1/schema/", {"format": "json"}).json()
    for path in (LIST, REPORT, EXPORT):
        (parameter,) = [
            p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "category"
        ]
        assert "id or slug" in parameter["description"]
        assert parameter["schema"]["items"]["type"] == "string"
