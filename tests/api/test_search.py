"""``search`` answered from indexes (trigram GIN on PostgreSQL, FTS5 on SQLite) finds exactly
what the plain ``icontains`` scan found: compared with an independent filter in Python."""

from io import StringIO

from django.core.management import call_command
from django.db import connection

from pledges.models import Pledge
from tests.conftest import load_reference_data, shared_by_module
from tests.factories import PledgeFactory, PledgeItemFactory

URL = "/api/v1/pledges/"
AWKWARD = [
    "DRONES for the front",
    "Drönes and ÄÖÜ radars",
    'a "quoted" drone',
    "100% of the ammunition",
    "x_y under_score",
    "back\\slash",
    "tab\tand\nline",
    "Air defence: IRIS-T",
]
TERMS = [
    "drone",
    "DRONE",
    "Drön",
    "äöü",
    "ÄÖ",
    "dr",
    "a",
    "%",
    "_",
    '"',
    '"quoted"',
    "100%",
    "x_y",
    "\\",
    "  drone  ",
    "air defence",
    "iris-t",
    "tank",
    "zzz no such text",
]


def folded(text: str) -> str:
    """icontains as each database does it: PostgreSQL's UPPER folds all letters (in a UTF-8
    locale), SQLite's LIKE only ASCII ones."""
    if connection.vendor == "postgresql":
        return text.upper()
    return "".join(char.upper() if char.isascii() else char for char in text)


def expected(term: str) -> set[int]:
    term = folded(term.strip())
    found = set()
    for pledge in Pledge.objects.prefetch_related("items"):
        texts = [pledge.title, pledge.description, *(item.name for item in pledge.items.all())]
        if any(term in folded(text) for text in texts):
            found.add(pledge.pk)
    return found


def found(client, term: str) -> set[int]:
    ids, page = set(), 1
    while True:
        response = client.get(URL, {"search": term, "page_size": 1000, "page": page})
        assert response.status_code == 200
        body = response.json()
        ids |= {row["id"] for row in body["results"]}
        if not body["next"]:
            return ids
        page += 1


def make_many_pledges() -> None:
    load_reference_data()
    call_command("generate_pledges", "300", "--seed", "7", verbosity=0, stdout=StringIO())
    for index, text in enumerate(AWKWARD):
        pledge = PledgeFactory(title=text if index % 2 else "plain", description=text)
        PledgeItemFactory(pledge=pledge, name=text)
        PledgeItemFactory(pledge=PledgeFactory(), name=text.swapcase())


# Written once for the module's tests (each runs in a savepoint of its own).
many_pledges = shared_by_module(make_many_pledges)


def test_search_finds_what_icontains_finds(anon, many_pledges, db):
    for term in TERMS:
        assert found(anon, term) == expected(term), term
    assert expected("drone")  # the data do hold matches


def test_search_follows_writes(anon, many_pledges, editor):
    """The SQLite index is kept by triggers: a changed title, a new item, a deletion."""
    pledge = Pledge.objects.exclude(title__icontains="kangaroo").first()
    Pledge.objects.filter(pk=pledge.pk).update(title="A kangaroo")
    assert found(anon, "KANGAROO") == {pledge.pk}
    other = PledgeFactory()
    PledgeItemFactory(pledge=other, name="Kangaroo boots")
    assert found(anon, "kangaroo") == {pledge.pk, other.pk}
    Pledge.objects.filter(pk=pledge.pk).update(title="Nothing")
    other.items.all().delete()
    assert found(anon, "kangaroo") == set()
