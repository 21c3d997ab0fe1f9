"""PostgreSQL: the rows the triggers add (the data version's, the kept pledge count's) are
folded by READ COMMITTED writers only. A REPEATABLE READ writer that folded would delete rows
another writer had folded since its snapshot, and fail ("could not serialize access due to
concurrent delete"); its write must go through."""

import psycopg2
import pytest
from django.db import connection

from pledges import dataversion, pledge_count

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: its folds"),
    pytest.mark.django_db(transaction=True),
]
# A statement on pledges_pledge that writes no row: its statement-level triggers still add a
# row to both tables.
STATEMENT = "DELETE FROM pledges_pledge WHERE false"


def connect(**session):
    settings = connection.settings_dict
    opened = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
    )
    opened.set_session(**session)
    return opened


def run(opened, times: int) -> None:
    with opened.cursor() as cursor:
        for _ in range(times):
            cursor.execute(STATEMENT)


def test_a_repeatable_read_writer_does_not_fold():
    fold_every = dataversion.FOLD_EVERY  # the data version's folds and the count's
    other = connect(autocommit=True)
    writer = connect(isolation_level="REPEATABLE READ")
    try:
        run(other, 3)  # rows committed before the writer's snapshot
        run(writer, 1)  # the snapshot
        run(other, fold_every + 1)  # folds them away, committed
        run(writer, fold_every + 1)  # reaches a fold: must leave it
        writer.commit()
    finally:
        writer.close()
        other.close()
    assert pledge_count.current(connection.alias) == 0
