"""Benchmark of the aggregate reports on SQLite and PostgreSQL at several sizes.

    python bench/reports.py [--sizes 10000 100000 1000000] [--databases sqlite postgresql]
        [--runs 5] [--data-dir .bench] [--postgres postgres://postgres@127.0.0.1:5432]

For each database and size it first makes, once, a database of ``generate_pledges SIZE
--seed 7`` (an SQLite file in ``--data-dir``; the PostgreSQL database ``<prefix>_SIZE``) and
reuses it on later runs: generating a million pledges takes a while. Then, in a process of its
own for each database, it times each report of the engine (``pledges.reports.totals``, no
cache): the first run (cold) and the median of ``--runs`` (wall clock, and the CPU time of the
process, which on SQLite is all of the database's work and moves less with the machine's
load), with its number of SQL queries. The reports carry what was allocated and delivered
(from the generated fulfilment records) beside the total.
Beside it, the time of a plain GROUP BY of the stored EUR values over the same pledges (what
Datasette runs on the same file) and, on PostgreSQL, of one hand-written query computing the
same figures exactly (each pledge converted in a LATERAL join, components summed in a CTE),
checked to agree to the cent. The targets are printed beside the figures.

Then the timelines (``pledges.timeline.timeline``): by month, and by year and donor, in euros
and dollars, timed the same way, each checked to end at the totals report's total, allocated
and delivered money.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 7
REPORTS = [
    ("donor", "EUR", None),
    ("donor", "USD", None),
    ("category,month", "EUR", None),
    ("category,month", "USD", None),
    ("donor,year", "EUR", "period"),
]
TIMELINES = [
    ("month", "", "EUR"),
    ("month", "", "USD"),
    ("year", "donor", "EUR"),
    ("year", "donor", "USD"),
]


# --- the databases, made once -----------------------------------------------------------


def manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def fill(url: str, size: int) -> None:
    print(f"generating {size:,} pledges in {url} (once)", flush=True)
    manage(url, "migrate", "-v0")
    manage(url, "load_ecb_rates", "-v0")
    manage(url, "generate_pledges", str(size), "--seed", str(SEED), "-v0")


def sqlite_database(data_dir: Path, size: int) -> str:
    path = data_dir / f"reports-{size}.sqlite3"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        fill(f"sqlite:///{partial}", size)
        partial.rename(path)
    return f"sqlite:///{path}"


def postgresql_database(server: str, prefix: str, size: int) -> str:
    import psycopg2

    name = f"{prefix}_{size}"
    admin = psycopg2.connect(f"{server}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}_partial"')
            cursor.execute(f'CREATE DATABASE "{name}_partial"')
            fill(f"{server}/{name}_partial", size)
            # Not "with connect()": that opens a transaction, and VACUUM cannot run in one.
            filled = psycopg2.connect(f"{server}/{name}_partial")
            filled.autocommit = True
            filled.cursor().execute("VACUUM ANALYZE")
            filled.close()
            cursor.execute(f'ALTER DATABASE "{name}_partial" RENAME TO "{name}"')
    admin.close()
    return f"{server}/{name}"


# --- the measures, in a process set up for one database -------------------------------

# A plain GROUP BY of the stored EUR values, as Datasette would run it.
PLAIN_KEYS = {
    "donor": (["p.donor_id", "d.name"], "JOIN pledges_donor d ON d.id = p.donor_id"),
    "category,month": (
        ["p.category_id", "g.name", "{year}", "{month}"],
        "JOIN pledges_category g ON g.id = p.category_id",
    ),
    "donor,year": (["p.donor_id", "d.name", "{year}"], "JOIN pledges_donor d ON d.id = p.donor_id"),
}
TIME_SQL = {
    "sqlite": {
        "year": "strftime('%%Y', p.announced_on)",
        "month": "strftime('%%m', p.announced_on)",
    },
    "postgresql": {
        "year": "EXTRACT(YEAR FROM p.announced_on)",
        "month": "EXTRACT(MONTH FROM p.announced_on)",
    },
}
PLAIN = """SELECT {keys}, SUM(p.value_eur), COUNT(*) FROM pledges_pledge p {join}
WHERE p.status <> 'cancelled' GROUP BY {keys}"""

# The figures of the engine, computed exactly by hand (PostgreSQL only).
EXACT = """
WITH converted AS (
    SELECT p.id, p.parent_id, p.status, p.amount, p.donor_id, p.category_id, p.announced_on,
           p.reannounces_id,
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
       -- A re-announcement is counted in "reannounced", never in the total.
       COALESCE(SUM(GREATEST(c.cents - COALESCE(k.cents, 0), 0))
                FILTER (WHERE c.reannounces_id IS NULL), 0) AS total_cents,
       COUNT(*) AS pledges
FROM converted c LEFT JOIN components k ON k.parent_id = c.id
JOIN pledges_donor d ON d.id = c.donor_id
JOIN pledges_category g ON g.id = c.category_id
WHERE c.status <> 'cancelled'
GROUP BY {keys}
"""
EXACT_KEYS = {
    "donor": "c.donor_id, d.name, d.iso2",
    "category,month": "c.category_id, g.slug, g.name, EXTRACT(YEAR FROM c.announced_on)::int, "
    "EXTRACT(MONTH FROM c.announced_on)::int",
}
TARGET_JOIN = """
    LEFT JOIN LATERAL (
        SELECT r.rate FROM pledges_exchangerate r
        WHERE r.currency = %s AND r.date <= p.announced_on
          AND r.date >= p.announced_on - {max_age}
        ORDER BY r.date DESC LIMIT 1
    ) target ON true"""


def plain_sql(vendor: str, group_by: str) -> str:
    columns, join = PLAIN_KEYS[group_by]
    keys = ", ".join(columns).format(**TIME_SQL[vendor])
    return PLAIN.format(keys=keys, join=join)


def exact_sql(group_by: str, currency: str, max_age: int) -> tuple[str, list]:
    if currency == "EUR":
        sql = EXACT.format(
            target_rate="1", target_join="", keys=EXACT_KEYS[group_by], max_age=max_age
        )
        return sql, []
    sql = EXACT.format(
        target_rate="target.rate",
        target_join=TARGET_JOIN.format(max_age=max_age),
        keys=EXACT_KEYS[group_by],
        max_age=max_age,
    )
    return sql, [currency]


def timed(function, runs: int) -> tuple[float, float, float, object]:
    """Seconds of the first run, median seconds and median CPU seconds of this process (all
    of SQLite's work; only the client's on PostgreSQL) of ``runs`` more, and the result."""
    start = time.perf_counter()
    result = function()
    first = time.perf_counter() - start
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return first, statistics.median(times), statistics.median(cpu), result


def target(vendor: str, size: int, currency: str, cold: float, plain: float) -> str:
    if vendor == "sqlite" and size >= 1_000_000:
        verdict = "met" if cold <= plain else "MISSED"
        return f"cold <= plain GROUP BY: {verdict}"
    if vendor == "sqlite" and size >= 100_000:
        return f"cold < 1 s: {'met' if cold < 1 else 'MISSED'}"
    if vendor == "postgresql" and size >= 1_000_000 and currency == "EUR":
        return f"cold EUR <= 1.1 s: {'met' if cold <= 1.1 else 'MISSED'}"
    return ""


def measure_timelines(runs: int) -> None:
    """Each timeline of ``TIMELINES``: cold, median, CPU, queries; whether its last
    cumulative figures (summed over the keys) are the totals report's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pledges import reports, timeline
    from pledges.models import Pledge

    print(
        f"{'timeline':<28} {'cold ms':>9} {'median':>9} {'cpu':>7} {'queries':>7} {'rows':>6} agree"
    )
    for interval, group_by, currency in TIMELINES:
        options = timeline.parse_options(interval=interval, group_by=group_by, currency=currency)

        def engine(options=options):
            return timeline.timeline(Pledge.objects.all(), options)

        with CaptureQueriesContext(connection) as captured:
            cold, median, cpu, result = timed(engine, runs)
        queries = len(captured.captured_queries) // (runs + 1)
        report = reports.totals(Pledge.objects.all(), reports.parse_options(currency=currency))
        last: dict = {}
        for step in result.rows:  # in period order: each key's last step wins
            last[tuple(reports.identity(v) for v in step.keys.values())] = step
        ends = [
            sum((getattr(step, f"cumulative_{figure}") for step in last.values()), reports.ZERO)
            for figure in timeline.MONEY
        ]
        agree = ends == [report.total, report.allocated, report.delivered]
        name = f"{interval}{' x ' + group_by if group_by else ''} {currency}"
        print(
            f"{name:<28} {cold * 1000:>9.1f} {median * 1000:>9.1f} {cpu * 1000:>7.1f}"
            f" {queries:>7} {len(result.rows):>6} {agree!s:>5}",
            flush=True,
        )


def measure(runs: int) -> None:
    sys.path[0] = str(ROOT)  # the project, not bench/, on the path
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pledges import reports
    from pledges.models import Pledge

    vendor, size = connection.vendor, Pledge.objects.count()
    print(f"\n{size:,} pledges on {vendor} ({connection.settings_dict['NAME']}), median of {runs}")
    print(
        f"{'report':<28} {'cold ms':>9} {'median':>9} {'cpu':>7} {'queries':>7} {'plain ms':>9}"
        f" {'cpu':>7} {'exact ms':>9} agree  target"
    )
    for group_by, currency, allocation in REPORTS:
        options = reports.parse_options(group_by=group_by, currency=currency, allocation=allocation)

        def engine(options=options):
            return reports.totals(Pledge.objects.all(), options)

        with CaptureQueriesContext(connection) as captured:
            cold, median, cpu, report = timed(engine, runs)
        queries = len(captured.captured_queries) // (runs + 1)

        def run(sql, params=()):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()

        plain_query = plain_sql(vendor, group_by)
        _, plain, plain_cpu, _ = timed(lambda sql=plain_query: run(sql), runs)
        exact, agree = "", ""
        if vendor == "postgresql" and group_by in EXACT_KEYS:
            sql, params = exact_sql(group_by, currency, settings.EXCHANGE_RATE_MAX_AGE_DAYS)
            _, exact_time, _, rows = timed(lambda sql=sql, params=params: run(sql, params), runs)
            width = len(EXACT_KEYS[group_by].split(", "))
            agree = (
                int(report.total * 100) == sum(row[width] for row in rows)
                and report.pledges == sum(row[width + 1] for row in rows)
                and len(report.rows) == len(rows)
            )
            exact = f"{exact_time * 1000:.1f}"
        name = f"{group_by} {currency}" + (f" {allocation}" if allocation else "")
        goal = target(vendor, size, currency, cold, plain)
        print(
            f"{name:<28} {cold * 1000:>9.1f} {median * 1000:>9.1f} {cpu * 1000:>7.1f}"
            f" {queries:>7} {plain * 1000:>9.1f} {plain_cpu * 1000:>7.1f} {exact:>9}"
            f" {agree!s:>5}  {goal}",
            flush=True,
        )
    from pledges.models import Fulfilment

    records = Fulfilment.objects.count()
    recorded = Pledge.objects.filter(fulfilments__isnull=False).distinct().count()
    print(f"\n{records:,} fulfilment records on {recorded:,} pledges")
    measure_timelines(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--prefix", default="pledges_bench", help="PostgreSQL database names")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # in the process of one database (DATABASE_URL)
        measure(args.runs)
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        for database in args.databases:
            if database == "sqlite":
                url = sqlite_database(args.data_dir, size)
            else:
                url = postgresql_database(args.postgres, args.prefix, size)
            env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
            command = [sys.executable, __file__, "--measure", "--runs", str(args.runs)]
            subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
