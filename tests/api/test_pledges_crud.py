"""Creating, reading, replacing, changing and deleting pledges with their items and sources."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from pledges.models import Pledge, PledgeItem, Source
from tests.ecb import ecb_rate

URL = "/api/v1/pledges/"


def test_create_with_items_and_sources(editor, payload, refs):
    response = editor.post(URL, payload(), format="json")
    assert response.status_code == 201, response.data
    body = response.json()
    pledge = Pledge.objects.get()
    assert body["id"] == pledge.pk
    assert response["ETag"] == f'"{pledge.version}"'
    assert body["donor"] == {"id": refs["donor"].pk, "name": "United Kingdom", "iso2": "GB"}
    assert body["category"] == {"id": refs["category"].pk, "slug": "drones", "name": "Drones"}
    assert body["event"] == {"id": refs["event"].pk, "name": "UDCG 28", "date": "2025-06-04"}
    assert body["parent"] is None
    assert body["currency"] == "GBP"
    assert body["amount"] == "350000000.00"
    assert body["total_amount"] == "350000000.00"
    # 2025-06-04 is a Wednesday: the ECB published a GBP rate that day.
    expected = (Decimal("350000000") / ecb_rate("GBP", dt.date(2025, 6, 4))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert body["value_eur"] == str(expected)
    assert body["rate_date"] == "2025-06-04"
    assert body["version"] == 1
    assert [(i["name"], i["quantity"]) for i in body["items"]] == [("drone", 100000)]
    assert [s["publisher"] for s in body["sources"]] == ["UK Ministry of Defence"]
    assert list(pledge.items.values_list("name", "quantity")) == [("drone", 100000)]
    assert pledge.sources.count() == 1
    assert pledge.history.count() == 1


def test_read_is_public_and_detail_carries_etag(anon, editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    response = anon.get(f"{URL}{pledge_id}/")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    listing = anon.get(URL).json()
    assert listing["count"] == 1
    assert set(listing) == {"count", "next", "previous", "results"}
    assert listing["results"][0]["id"] == pledge_id


def test_derived_fields_are_read_only(editor, payload):
    data = payload(value_eur="1.00", total_amount="2.00", version=99, rate_date="2000-01-01")
    body = editor.post(URL, data, format="json").json()
    assert body["version"] == 1
    assert body["value_eur"] != "1.00"
    assert body["total_amount"] == "350000000.00"
    assert body["rate_date"] == "2025-06-04"


def test_per_year_total(editor, payload):
    data = payload(
        amount="1000000000",
        currency="EUR",
        amount_basis="per_year",
        period_start_year=2025,
        period_end_year=2029,
    )
    body = editor.post(URL, data, format="json").json()
    assert body["total_amount"] == "5000000000.00"
    assert body["value_eur"] == "5000000000.00"


def test_put_replaces_items_and_sources(editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    new = payload(
        title="Drones, revised",
        items=[{"name": "interceptor", "quantity": 5}, {"name": "radar", "quantity": None}],
        sources=[{"url": "http://example.org/a", "publisher": "Example"}],
    )
    response = editor.put(f"{URL}{pledge_id}/", new, format="json")
    assert response.status_code == 200, response.data
    pledge = Pledge.objects.get(pk=pledge_id)
    assert pledge.title == "Drones, revised"
    assert list(pledge.items.values_list("name", "quantity")) == [
        ("interceptor", 5),
        ("radar", None),
    ]
    assert list(pledge.sources.values_list("url", flat=True)) == ["http://example.org/a"]
    assert response.json()["version"] == 2
    assert response["ETag"] == '"2"'

    # Omitting items in a PUT means none: PUT gives the whole pledge.
    without_items = payload(sources=new["sources"])
    del without_items["items"]
    assert editor.put(f"{URL}{pledge_id}/", without_items, format="json").status_code == 200
    assert PledgeItem.objects.filter(pledge_id=pledge_id).count() == 0


def test_put_without_sources_is_refused(editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    data = payload()
    del data["sources"]
    response = editor.put(f"{URL}{pledge_id}/", data, format="json")
    assert response.status_code == 400
    assert "sources" in response.json()
    assert Source.objects.filter(pledge_id=pledge_id).count() == 1


def test_patch_leaves_items_and_sources_unless_given(editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    response = editor.patch(f"{URL}{pledge_id}/", {"status": "committed"}, format="json")
    assert response.status_code == 200, response.data
    body = response.json()
    assert body["status"] == "committed"
    assert [i["name"] for i in body["items"]] == ["drone"]
    assert len(body["sources"]) == 1

    response = editor.patch(f"{URL}{pledge_id}/", {"items": []}, format="json")
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert Source.objects.filter(pledge_id=pledge_id).count() == 1


def test_patch_amount_recomputes_value(editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    body = editor.patch(
        f"{URL}{pledge_id}/", {"amount": "100.00", "currency": "eur"}, format="json"
    ).json()
    assert body["currency"] == "EUR"
    assert body["value_eur"] == "100.00"


def test_unvalued_pledge(editor, payload):
    body = editor.post(URL, payload(amount=None, currency=None), format="json").json()
    assert body["amount"] is None
    assert body["value_eur"] is None
    assert body["currency"] == ""


def test_component_of_package(editor, payload):
    package = editor.post(URL, payload(title="Package", amount="1000"), format="json").json()
    response = editor.post(
        URL, payload(title="Part", amount="400", parent=package["id"]), format="json"
    )
    assert response.status_code == 201, response.data
    assert response.json()["parent"] == {
        "id": package["id"],
        "title": "Package",
        "announced_on": "2025-06-04",
    }


def test_delete(editor, payload):
    pledge_id = editor.post(URL, payload(), format="json").json()["id"]
    assert editor.delete(f"{URL}{pledge_id}/").status_code == 204
    assert not Pledge.objects.filter(pk=pledge_id).exists()
    assert not Source.objects.filter(pledge_id=pledge_id).exists()
    assert editor.get(f"{URL}{pledge_id}/").status_code == 404


def test_deleting_package_with_components_is_a_conflict(editor, payload):
    package = editor.post(URL, payload(title="Package", amount="1000"), format="json").json()
    editor.post(URL, payload(title="Part", amount="400", parent=package["id"]), format="json")
    response = editor.delete(f"{URL}{package['id']}/")
    assert response.status_code == 409
    assert "Part" in response.json()["detail"]
    assert Pledge.objects.count() == 2


@pytest.mark.parametrize("path", ["donors", "categories", "events"])
def test_deleting_referenced_reference_data_is_a_conflict(editor, payload, refs, path):
    editor.post(URL, payload(), format="json")
    key = {"donors": "donor", "categories": "category", "events": "event"}[path]
    response = editor.delete(f"/api/v1/{path}/{refs[key].pk}/")
    assert response.status_code == 409
    assert "detail" in response.json()


def test_reference_data_crud(editor, anon):
    response = editor.post(
        "/api/v1/donors/", {"name": "Ireland", "kind": "country", "iso2": "ie"}, format="json"
    )
    assert response.status_code == 201, response.data
    assert response.json()["iso2"] == "IE"
    donor_id = response.json()["id"]
    response = editor.post(
        "/api/v1/donors/", {"name": "EU fund", "kind": "fund", "iso2": "FR"}, format="json"
    )
    assert response.status_code == 400
    assert "iso2" in response.json()
    assert anon.get(f"/api/v1/donors/{donor_id}/").json()["name"] == "Ireland"
    response = editor.patch(f"/api/v1/donors/{donor_id}/", {"name": "Éire"}, format="json")
    assert response.json()["name"] == "Éire"
    assert editor.delete(f"/api/v1/donors/{donor_id}/").status_code == 204

    response = editor.post("/api/v1/categories/", {"slug": "air", "name": "Air"}, format="json")
    assert response.status_code == 201
    response = editor.post(
        "/api/v1/events/",
        {"name": "UDCG 30", "date": "2025-09-09", "kind": "udcg_meeting"},
        format="json",
    )
    assert response.status_code == 201, response.data
