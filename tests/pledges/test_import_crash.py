"""A process killed mid-import (kill -9) leaves the database as it was before the
import, on either database; the same file then imports cleanly.

``manage.py import_pledges`` runs in a subprocess on the test database. Its file holds
packages and their components, which are written in two rounds inside the import's one
transaction: once the progress bar has passed the packages, they have been written, and the
process is killed while it checks the components."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from pledges.models import Pledge, PledgeItem, Source
from tests.pledges.test_import_export import csv_file, row
from tests.servers import ROOT, database_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PACKAGES = 3000  # and as many components


def state() -> tuple:
    return (
        Pledge.objects.count(),
        PledgeItem.objects.count(),
        Source.objects.count(),
        Pledge.history.count(),
        PledgeItem.history.count(),
        Source.history.count(),
        tuple(Pledge.objects.order_by("pk").values_list("pk", "version", "value_eur")),
    )


def large_file(tmp_path):
    rows = []
    for number in range(PACKAGES):
        rows.append(row(f"pkg-{number}", amount="1000000.00", items='[{"name": "shell"}]'))
        rows.append(row(f"part-{number}", parent_ref=f"pkg-{number}", amount="10.00"))
    path = tmp_path / "large.csv"
    path.write_bytes(csv_file(rows))
    return path


class Progress:
    """The rows done so far, read from the command's progress bar on its stderr."""

    def __init__(self, stream):
        self.done = 0
        self.text = ""
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        while chunk := stream.read1(4096) if hasattr(stream, "read1") else stream.read(4096):
            self.text = (self.text + chunk.decode(errors="replace"))[-4096:]
            counts = re.findall(r"(\d+)/\d+ \[", self.text)
            if counts:
                self.done = int(counts[-1])


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


def other_sessions() -> set[int]:
    """PostgreSQL sessions on the test database besides this one (the killed client's backend
    ends once it notices its client is gone). A live-server test run before this one in the
    same worker may have left an idle session of its own: compare with those present before."""
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_an_import_killed_midway_changes_nothing(rates_kept, tmp_path):
    call_command("loaddata", "categories", "donors", "events", "pledges", verbosity=0)
    path = large_file(tmp_path)
    before = state()
    assert before[0] > 0  # the seed pledges, which must stay as they are
    sessions_before = other_sessions()

    env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_pledges", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    progress = Progress(process.stderr)
    try:
        # Past the packages: they are written, and the components are being checked.
        wait_for(lambda: progress.done > PACKAGES + 100, 600, "the packages written")
        assert process.poll() is None, "the import ended before it could be killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert progress.done < 2 * PACKAGES

    wait_for(lambda: other_sessions() <= sessions_before, 60, "the killed import's session ended")
    assert state() == before

    # The same file now imports cleanly, and everything is there once.
    call_command("import_pledges", str(path), verbosity=0)
    pledges, items, sources, *_ = state()
    assert (pledges, items, sources) == (
        before[0] + 2 * PACKAGES,
        before[1] + PACKAGES,
        before[2] + 2 * PACKAGES,
    )
    assert Pledge.objects.filter(
        external_ref__startswith="part-", parent__isnull=False
    ).count() == (PACKAGES)
