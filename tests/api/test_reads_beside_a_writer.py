"""A request that only reads never waits for a writer: with another connection holding a write
transaction open, lists and reports answer at once (SQLite included, where a transaction that
took the write lock would make them wait and fail with "database is locked"); a writer that
comes meanwhile waits for the lock and then succeeds."""

import datetime as dt
import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, transaction

from pledges.models import ExchangeRate, Pledge
from tests.api.test_concurrent_writes import editor_token, patch  # noqa: F401 - a fixture
from tests.ecb import ecb_rate
from tests.factories import PledgeFactory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DAY = dt.date(2025, 6, 4)
# Well under the SQLite busy timeout (20 s): a read that waited for the lock would not answer.
READ_TIMEOUT = 10


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as response:  # noqa: S310
        return response.status, json.loads(response.read())


class HeldWriteTransaction:
    """A write transaction kept open in a thread of its own, with its own connection."""

    def __init__(self, pledge_pk: int):
        self.pledge_pk = pledge_pk
        self.holding, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        try:
            with transaction.atomic():  # BEGIN IMMEDIATE on SQLite: the write lock
                Pledge.objects.filter(pk=self.pledge_pk).update(title="Held")
                self.holding.set()
                self.release.wait(timeout=60)
        finally:
            self.holding.set()
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(timeout=30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(timeout=60)


def test_reads_answer_while_a_write_transaction_is_open(rates_kept, live_server, editor_token):  # noqa: F811
    pledge = PledgeFactory(amount=Decimal("100.00"), announced_on=DAY)
    PledgeFactory(amount=Decimal("250.00"), announced_on=DAY)
    # Another transactional test may have run just before and flushed the stored rates.
    ExchangeRate.objects.update_or_create(
        currency="USD", date=DAY, defaults={"rate": ecb_rate("USD", DAY)}
    )
    api = f"{live_server.url}/api/v1"
    with ThreadPoolExecutor(1) as pool, HeldWriteTransaction(pledge.pk):
        status, listed = get(f"{api}/pledges/")
        assert (status, listed["count"]) == (200, 2)
        status, report = get(f"{api}/reports/totals/?group_by=donor")
        assert (status, report["total"], report["pledges"]) == (200, "350.00", 2)
        status, report = get(f"{api}/reports/totals/?currency=USD")
        assert (status, report["total"]) == (200, "398.44")  # 350 x 1.1384
        # A writer meanwhile waits for the lock rather than failing.
        writing = pool.submit(
            patch, f"{api}/pledges/{pledge.pk}/", editor_token, {"title": "After"}
        )
        assert not writing.done()
        # (the transaction ends here, before the pool waits for the writer)
    assert writing.result(timeout=60) == 200
    assert Pledge.objects.get(pk=pledge.pk).title == "After"
