"""Run by tests/test_replica.py inside ``manage.py shell`` with DATABASE_URL on the primary and
DATABASE_REPLICA_URL on a real streaming replica of it; prints OK or fails."""

import time

from django.contrib.auth.models import User
from django.db import connections, utils
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from pledges.models import Donor


def reads(captured) -> list[str]:
    """The statements other than transaction control (ATOMIC_REQUESTS opens one on the
    primary for every request, even one that only reads)."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]


def answered(connection, client, *args, **kwargs):
    with CaptureQueriesContext(connection) as captured:
        response = client.generic(*args, **kwargs)
    return response, len(reads(captured))


def until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the replica did not catch up")
        time.sleep(0.2)


primary, replica = connections["default"], connections["replica"]
user = User.objects.create_superuser("probe", password="probe-password-1")
token = Token.objects.create(user=user)
until(lambda: User.objects.using("replica").filter(username="probe").exists())
client = Client(HTTP_HOST="localhost")

# A write: on the primary, and so are the reads of that request.
body = '{"name": "Probe donor", "kind": "organisation"}'
with CaptureQueriesContext(replica) as on_replica:
    response, _ = answered(
        primary,
        client,
        "POST",
        "/api/v1/donors/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
assert response.status_code == 201, response.content
assert not reads(on_replica), reads(on_replica)

# Reads: on the replica, which shows the new donor once it has replayed the write.
until(lambda: Donor.objects.using("replica").filter(name="Probe donor").exists())
with CaptureQueriesContext(primary) as on_primary:
    response, replica_queries = answered(replica, client, "GET", "/api/v1/donors/")
assert response.status_code == 200
assert [row["name"] for row in response.json()["results"]] == ["Probe donor"]
assert replica_queries >= 1 and not reads(on_primary), reads(on_primary)

# The admin reads from the primary.
client.force_login(user)
with CaptureQueriesContext(replica) as on_replica:
    response, primary_queries = answered(primary, client, "GET", "/admin/pledges/donor/")
assert response.status_code == 200 and b"Probe donor" in response.content
assert primary_queries >= 1 and not reads(on_replica), reads(on_replica)

# It is a real standby: it refuses writes.
try:
    with replica.cursor() as cursor:
        cursor.execute("CREATE TABLE probe_write (id integer)")
except utils.Error as error:
    assert "read-only" in str(error), error
else:
    raise AssertionError("the replica accepted a write")
print("OK")
