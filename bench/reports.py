"""Benchmark of the aggregate reports against hand-written SQL on the same database.

    DATABASE_URL=postgres://… python bench/reports.py [--runs 5]
    (or: python manage.py shell < bench/reports.py)

For each report (by donor, by category x month; in EUR and in USD) it prints the median time
of the report engine (``pledges.reports.totals``) and its number of SQL queries, the median
time of one hand-written PostgreSQL query computing the same figures (each pledge converted
once in a LATERAL join, components summed in a CTE), their ratio, and checks both agree to
the cent. The hand-written SQL is PostgreSQL only.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # standalone; under ``manage.py shell`` Django is set up already
    # The project instead of bench/ on the path: a script there must not shadow a package.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pledges import reports
from pledges.models import Pledge

REPORTS = [
    ("donor", "EUR"),
    ("donor", "USD"),
    ("category,month", "EUR"),
    ("category,month", "USD"),
]

# Keys as SQL: the grouping columns of each report.
SQL_KEYS = {
    "donor": ["c.donor_id", "d.name", "d.iso2"],
    "category,month": [
        "c.category_id",
        "g.slug",
        "g.name",
        "EXTRACT(YEAR FROM c.announced_on)::int",
        "EXTRACT(MONTH FROM c.announced_on)::int",
    ],
}

HAND_WRITTEN = """
WITH converted AS (
    SELECT p.id, p.parent_id, p.status, p.amount, p.donor_id, p.category_id, p.announced_on,
           CAST(ROUND(p.total_amount * {target_rate} / source.rate * 100) AS bigint) AS cents
    FROM pledges_pledge p
    LEFT JOIN LATERAL (
        SELECT CASE WHEN p.currency = 'EUR' THEN 1 ELSE (
            SELECT r.rate FROM pledges_exchangerate r
            WHERE r.currency = p.currency AND r.date <= p.announced_on
              AND r.date >= p.announced_on - {max_age}
            ORDER BY r.date DESC LIMIT 1) END AS rate
    ) source ON true
    {target_join}
),
components AS (
    SELECT parent_id, SUM(cents) AS cents FROM converted
    WHERE parent_id IS NOT NULL AND status <> 'cancelled'
    GROUP BY parent_id
)
SELECT {keys},
       COALESCE(SUM(GREATEST(c.cents - COALESCE(k.cents, 0), 0)), 0) AS total_cents,
       COUNT(*) AS pledges,
       COUNT(*) FILTER (WHERE c.amount IS NULL) AS unvalued,
       COUNT(*) FILTER (WHERE c.amount IS NOT NULL AND c.cents IS NULL) AS unconverted
FROM converted c LEFT JOIN components k ON k.parent_id = c.id
JOIN pledges_donor d ON d.id = c.donor_id
JOIN pledges_category g ON g.id = c.category_id
WHERE c.status <> 'cancelled'
GROUP BY {keys}
"""

TARGET_JOIN = """
    LEFT JOIN LATERAL (
        SELECT r.rate FROM pledges_exchangerate r
        WHERE r.currency = %s AND r.date <= p.announced_on
          AND r.date >= p.announced_on - {max_age}
        ORDER BY r.date DESC LIMIT 1
    ) target ON true"""


def hand_written_sql(group_by: str, currency: str) -> tuple[str, list]:
    max_age = int(settings.EXCHANGE_RATE_MAX_AGE_DAYS)
    keys = ", ".join(SQL_KEYS[group_by])
    if currency == "EUR":
        return HAND_WRITTEN.format(target_rate="1", target_join="", keys=keys, max_age=max_age), []
    return HAND_WRITTEN.format(
        target_rate="target.rate",
        target_join=TARGET_JOIN.format(max_age=max_age),
        keys=keys,
        max_age=max_age,
    ), [currency]


def median_seconds(function, runs: int) -> tuple[float, object]:
    result = function()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(runs: int) -> None:
    vendor = connection.vendor
    print(
        f"{Pledge.objects.count():,} pledges on {vendor} ({connection.settings_dict['NAME']}),"
        f" median of {runs} runs"
    )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            print(f"jit={cursor.fetchone()[0]} for both (the same connection and settings)")
    print(f"{'report':<24} {'engine ms':>10} {'queries':>8} {'SQL ms':>9} {'ratio':>6}  agree")
    for group_by, currency in REPORTS:
        options = reports.parse_options(group_by=group_by, currency=currency)
        with CaptureQueriesContext(connection) as captured:
            reports.totals(Pledge.objects.all(), options)
        queries = len(captured.captured_queries)
        engine_time, report = median_seconds(
            lambda options=options: reports.totals(Pledge.objects.all(), options), runs
        )
        line = f"{group_by + ' ' + currency:<24} {engine_time * 1000:>10.1f} {queries:>8}"
        if vendor != "postgresql":
            print(line + "  (hand-written SQL is PostgreSQL only)")
            continue
        sql, params = hand_written_sql(group_by, currency)

        def run_sql(sql=sql, params=params):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        sql_time, rows = median_seconds(run_sql, runs)
        width = len(SQL_KEYS[group_by])
        sql_total = sum(row[width] for row in rows)
        sql_pledges = sum(row[width + 1] for row in rows)
        agree = (
            int(report.total * 100) == sql_total
            and report.pledges == sql_pledges
            and len(report.rows) == len(rows)
        )
        print(f"{line} {sql_time * 1000:>9.1f} {engine_time / sql_time:>6.2f}  {agree}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
else:
    main(int(os.environ.get("BENCH_RUNS", "5")))
