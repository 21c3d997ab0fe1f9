"""Sources, confidence and re-announcements through the API: written and read, refused with
the field named and nothing written, filtered, counted by the reports (figures by hand), kept
in the history and described by the schema."""

import datetime as dt
from decimal import Decimal

import pytest

from pledges.models import Pledge, Source
from tests.factories import CategoryFactory, CountryFactory, PledgeFactory

URL = "/api/v1/pledges/"
REPORT = "/api/v1/reports/totals/"
CITATION = {"publisher": "Euromaidan Press", "title": "Ramstein", "published_on": "2025-06-05"}


def state() -> tuple:
    return (
        Pledge.objects.count(),
        Source.objects.count(),
        Pledge.history.count(),
        Source.history.count(),
        tuple(Pledge.objects.order_by("pk").values_list("pk", "version", "reannounces_id")),
    )


@pytest.fixture
def earlier(refs):
    return PledgeFactory(donor=refs["donor"], announced_on=dt.date(2025, 5, 28), amount=350)


def test_a_re_announcement_with_a_cited_source_round_trips(editor, anon, payload, earlier):
    source = {**CITATION, "kind": "media", "accessed_on": "2025-06-06"}
    data = payload(reannounces=earlier.pk, confidence="estimated", sources=[source])
    response = editor.post(URL, data, format="json")
    assert response.status_code == 201, response.json()
    body = anon.get(f"{URL}{response.json()['id']}/").json()
    assert (body["reannounces"], body["confidence"]) == (earlier.pk, "estimated")
    assert {key: body["sources"][0][key] for key in source} == source
    assert body["sources"][0]["url"] == body["sources"][0]["archived_url"] == ""
    # PATCH takes it back: the pledge is new money again.
    pledge_id = body["id"]
    response = editor.patch(f"{URL}{pledge_id}/", {"reannounces": None}, format="json")
    assert response.status_code == 200
    assert response.json()["reannounces"] is None


CASES = [
    ("confidence-unknown", {"confidence": "rumoured"}, "confidence", None),
    ("confirmed-without-official-source", {"confidence": "confirmed"}, "confidence", None),
    ("reannounces-unknown", {"reannounces": 999999}, "reannounces", None),
    ("reannounces-text", {"reannounces": "abc"}, "reannounces", None),
    ("reannounces-huge", {"reannounces": 10**30}, "reannounces", None),
    ("reannounces-object", {"reannounces": {"id": 1}}, "reannounces", None),
    ("source-no-url-no-title", {"sources": [{"publisher": "P"}]}, "sources", "title"),
    (
        "source-no-url-no-date",
        {"sources": [{"publisher": "P", "title": "T"}]},
        "sources",
        "published_on",
    ),
    ("source-kind-unknown", {"sources": [{**CITATION, "kind": "blog"}]}, "sources", "kind"),
    (
        "source-archive-not-http",
        {"sources": [{**CITATION, "archived_url": "file:///etc/passwd"}]},
        "sources",
        "archived_url",
    ),
    (
        "source-accessed-in-future",
        {"sources": [{**CITATION, "accessed_on": "2999-01-01"}]},
        "sources",
        "accessed_on",
    ),
    (
        "source-accessed-malformed",
        {"sources": [{**CITATION, "accessed_on": "soon"}]},
        "sources",
        "accessed_on",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "row_key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_provenance_is_refused_naming_the_field(editor, payload, changes, field, row_key):
    before = state()
    response = editor.post(URL, payload(**changes), format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    if row_key is not None:
        assert any(row_key in row for row in body[field].values()), body
    assert state() == before


def test_a_re_announcement_of_another_donor_or_a_later_pledge_is_refused(
    editor, payload, refs, earlier
):
    other = PledgeFactory(donor=CountryFactory(name="Canada"), announced_on=dt.date(2025, 5, 1))
    later = PledgeFactory(donor=refs["donor"], announced_on=dt.date(2025, 6, 10))
    before = state()
    for target in (other, later):
        response = editor.post(URL, payload(reannounces=target.pk), format="json")
        assert response.status_code == 400
        assert "reannounces" in response.json()
    response = editor.post(URL, payload(reannounces=earlier.pk + 0.5), format="json")
    assert response.status_code == 400
    assert "reannounces" in response.json()
    # Itself, through PATCH, with the ETag's check passed.
    response = editor.patch(f"{URL}{earlier.pk}/", {"reannounces": earlier.pk}, format="json")
    assert response.status_code == 400
    assert "reannounces" in response.json()
    assert state() == before


def test_a_re_announced_pledge_cannot_be_deleted(editor, payload, earlier):
    assert editor.post(URL, payload(reannounces=earlier.pk), format="json").status_code == 201
    before = state()
    assert editor.delete(f"{URL}{earlier.pk}/").status_code == 409
    assert state() == before


def test_history_shows_confidence_re_announcement_and_source_fields(editor, anon, payload, earlier):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    source = {**CITATION, "kind": "official", "archived_url": "https://web.archive.org/x"}
    response = editor.patch(
        f"{URL}{pledge_id}/",
        {"reannounces": earlier.pk, "confidence": "confirmed", "sources": [source]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    latest = anon.get(f"{URL}{pledge_id}/history/").json()["results"][0]
    changes = {c["field"]: (c["old"], c["new"]) for c in latest["changes"]}
    assert changes["reannounces"] == (None, earlier.pk)
    assert changes["confidence"] == ("reported", "confirmed")
    (new_source,) = changes["sources"][1]
    assert new_source == {**source, "url": "", "accessed_on": None}


# --- filters and reports (figures by hand) -------------------------------------------------


@pytest.fixture
def scenario(db):
    """Germany: €100 on 28 May, re-announced on 4 June (€100 again). Canada: €50 estimated;
    an unvalued pledge on 1 June, re-announced unvalued on 4 June; 1,000 UAH re-announcing
    the €50. Belgium: €10 a year 2025-2026 on 1 May, re-announced on 4 June."""
    category = CategoryFactory(slug="other", name="Other")
    de, ca, be = (CountryFactory(name=n) for n in ("Germany", "Canada", "Belgium"))
    june = dt.date(2025, 6, 4)

    def pledge(donor, amount, day=june, **fields):
        return PledgeFactory(
            donor=donor,
            category=category,
            amount=None if amount is None else Decimal(amount),
            currency=fields.pop("currency", "EUR" if amount is not None else ""),
            announced_on=day,
            **fields,
        )

    de_first = pledge(de, 100, dt.date(2025, 5, 28))
    pledge(de, 100, reannounces=de_first)
    ca_estimate = pledge(ca, 50, confidence="estimated")
    ca_unvalued = pledge(ca, None, dt.date(2025, 6, 1))
    pledge(ca, None, reannounces=ca_unvalued)
    pledge(ca, 1000, currency="UAH", reannounces=ca_estimate)
    per_year = {"amount_basis": "per_year", "period_start_year": 2025, "period_end_year": 2026}
    be_first = pledge(be, 10, dt.date(2025, 5, 1), **per_year)
    pledge(be, 10, reannounces=be_first, **per_year)
    return {"de": de, "ca": ca, "be": be}


def figures(row):
    return (row["total"], row["pledges"], row["unvalued"], row["unconverted"], row["reannounced"])


def test_re_announcements_count_in_reannounced_never_in_total(anon, scenario):
    body = anon.get(REPORT, {"group_by": "donor"}).json()
    assert figures(body) == ("170.00", 8, 1, 0, 4)
    rows = {row["donor"]["name"]: figures(row) for row in body["rows"]}
    assert rows == {
        "Germany": ("100.00", 2, 0, 0, 1),
        "Canada": ("50.00", 4, 1, 0, 2),
        "Belgium": ("20.00", 2, 0, 0, 1),
    }
    csv_text = anon.get(REPORT, {"group_by": "donor", "format": "csv"}).content.decode()
    header = "donor,total,pledges,unvalued,unconverted,reannounced,allocated,delivered,outstanding"
    assert csv_text.splitlines()[0] == header
    # Nothing delivered: the re-announcements' money counts in no figure.
    assert "Canada,50.00,4,1,0,2,0.00,0.00,50.00" in csv_text.splitlines()


def test_re_announcements_spread_over_years_count_once_overall(anon, scenario):
    params = {"group_by": "year", "allocation": "period", "donor": scenario["be"].pk}
    body = anon.get(REPORT, params).json()
    assert figures(body) == ("20.00", 2, 0, 0, 1)
    assert {row["year"]: figures(row) for row in body["rows"]} == {
        2025: ("10.00", 2, 0, 0, 1),
        2026: ("10.00", 2, 0, 0, 1),
    }


def test_the_confidence_key_and_filters(anon, scenario):
    body = anon.get(REPORT, {"group_by": "confidence"}).json()
    assert {row["confidence"]: figures(row) for row in body["rows"]} == {
        "reported": ("120.00", 7, 1, 0, 4),
        "estimated": ("50.00", 1, 0, 0, 0),
    }
    new = anon.get(REPORT, {"reannouncement": "false"}).json()
    assert figures(new) == ("170.00", 4, 1, 0, 0)
    again = anon.get(REPORT, {"reannouncement": "true"}).json()
    assert figures(again) == ("0.00", 4, 0, 0, 4)
    both = anon.get(REPORT, [("confidence", "estimated"), ("confidence", "confirmed")]).json()
    assert figures(both) == ("50.00", 1, 0, 0, 0)


def test_list_filters(anon, scenario):
    def refs(**params):
        results = anon.get(URL, params).json()["results"]
        return sorted((r["donor"]["name"], r["reannounces"] is not None) for r in results)

    assert refs(reannouncement="true") == [
        ("Belgium", True),
        ("Canada", True),
        ("Canada", True),
        ("Germany", True),
    ]
    assert len(refs(reannouncement="false")) == 4
    assert refs(confidence="estimated") == [("Canada", False)]


@pytest.mark.parametrize(
    ("url", "params", "name"),
    [
        (URL, {"reannouncement": "yes"}, "reannouncement"),
        (URL, {"confidence": "rumoured"}, "confidence"),
        (REPORT, {"reannouncement": "1"}, "reannouncement"),
        (REPORT, {"confidence": "sure"}, "confidence"),
        (REPORT, {"group_by": "confidence,trust"}, "group_by"),
    ],
)
def test_bad_filter_values_are_400_naming_them(anon, db, url, params, name):
    response = anon.get(url, params)
    assert response.status_code == 400
    assert name in response.json()


def test_the_schema_describes_the_new_fields(anon, db):
    schema = anon.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    pledge = components["Pledge"]["properties"]
    assert pledge["reannounces"]["type"] == "integer"
    assert pledge["reannounces"]["nullable"] is True
    assert "confidence" in pledge
    source = components["Source"]["properties"]
    assert {"kind", "archived_url", "accessed_on"} <= set(source)
    assert "url" not in components["Source"].get("required", [])
    parameters = {p["name"]: p for p in schema["paths"][URL]["get"]["parameters"]}
    assert set(parameters["reannouncement"]["schema"]["enum"]) == {"false", "true"}
    assert "reannounced" in components["ReportTotals"]["properties"]


def test_a_component_that_re_announces_counts_once(anon, db):
    """A €100 package whose €30 component repeats an earlier €30 pledge: the package counts its
    remainder (€70), the component nothing, the earlier pledge its €30: €100 in all."""
    donor = CountryFactory(name="Germany")
    earlier = PledgeFactory(donor=donor, amount=30, announced_on=dt.date(2025, 5, 1))
    package = PledgeFactory(donor=donor, amount=100)
    PledgeFactory(donor=donor, amount=30, parent=package, reannounces=earlier)
    assert figures(anon.get(REPORT).json()) == ("100.00", 3, 0, 0, 1)
