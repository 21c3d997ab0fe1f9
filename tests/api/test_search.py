"""``search`` answered from indexes (a trigram GIN index of one document per pledge on
PostgreSQL, FTS5 on SQLite) finds exactly what the plain ``icontains`` scan found: compared with
an independent filter in Python."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from pledges import search
from pledges.models import Pledge, PledgeItem
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
            # The count of a search alone is the documents' on PostgreSQL: it must agree.
            assert body["count"] == len(ids), term
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


def stored_documents() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pledge_id, document FROM pledges_pledgesearch")
        return dict(cursor.fetchall())


def documents_computed_here() -> dict[int, str]:
    """Each pledge's title, description and item names (in the order of their ids), one per
    line, in upper case: what PostgreSQL's search documents must hold."""
    return {
        pledge.pk: "\n".join(
            [pledge.title, pledge.description, *(item.name for item in pledge.items.order_by("pk"))]
        ).upper()
        for pledge in Pledge.objects.prefetch_related("items")
    }


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL only: SQLite searches its FTS5 tables"
)
def test_documents_follow_every_write(anon, many_pledges, editor, payload):
    """Bulk COPY (the generated pledges), the ORM and the API each keep the documents."""
    assert stored_documents() == documents_computed_here()
    items = [{"name": "Numbat goggles", "quantity": 5}]
    created = editor.post(URL, payload(title="A numbat", items=items), format="json")
    assert created.status_code == 201, created.json()
    numbat = created.json()["id"]
    changed = editor.patch(f"{URL}{numbat}/", {"description": "numbat, again"}, format="json")
    assert changed.status_code == 200, changed.json()
    assert stored_documents()[numbat] == "A NUMBAT\nNUMBAT, AGAIN\nNUMBAT GOGGLES"
    assert found(anon, "numbat") == {numbat}
    pledge = Pledge.objects.first()
    Pledge.objects.filter(pk=pledge.pk).update(title="A wombat")
    item = PledgeItemFactory(pledge=pledge, name="Wombat boots")
    other = PledgeFactory()
    PledgeItem.objects.filter(pk=item.pk).update(pledge=other)  # moved to another pledge
    PledgeItemFactory(pledge=other, name="renamed below")
    PledgeItem.objects.filter(name="renamed below").update(name="Quokka")
    gone = PledgeFactory()
    gone.delete()
    assert gone.pk not in stored_documents()
    assert stored_documents() == documents_computed_here()
    assert found(anon, "wombat") == {pledge.pk, other.pk}
    other.items.all().delete()
    assert stored_documents() == documents_computed_here()
    assert found(anon, "wombat") == {pledge.pk}


def test_a_line_break_matches_within_one_text(anon, many_pledges, db):
    """Texts are joined by line breaks in PostgreSQL's documents: a term with one must still
    match inside a single text only."""
    across = PledgeFactory(title="cross", description="field")
    within = PledgeFactory(title="plain", description="cross\nfield")
    assert found(anon, "cross\nfield") == expected("cross\nfield") == {within.pk}
    assert across.pk in found(anon, "cross")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: its planner")
def test_documents_are_sampled_finely_for_the_planner(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'pledges_pledgesearch'::regclass AND attname = 'document'"
        )
        assert cursor.fetchone()[0] == search.DOCUMENT_STATISTICS
