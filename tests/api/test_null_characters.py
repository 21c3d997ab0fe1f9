"""A NUL character in a query string is refused with a 400 naming the parameter, on every
filtered answer (PostgreSQL cannot hold one: it was a 500 on the exports and the reports)."""

import pytest

from pledges.models import Pledge


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pledges/",
        "/api/v1/fulfilments/",
        "/api/v1/exports/pledges.csv",
        "/api/v1/exports/fulfilments.csv",
        "/api/v1/reports/totals/",
        "/api/v1/reports/timeline/",
    ],
)
def test_a_null_character_is_refused_by_name(client, db, path):
    before = Pledge.objects.count()
    response = client.get(path, {"category": "drones\x00x"})
    assert response.status_code == 400
    assert response.json() == {"category": ["Null characters are not allowed."]}
    assert Pledge.objects.count() == before
