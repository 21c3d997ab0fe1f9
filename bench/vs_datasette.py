"""Side by side in one run: the project (gunicorn, 2 workers) and Datasette serving the same
SQLite file of generated pledges: median of 15 requests each, and throughput with 8
connections (issue 14).

    .venv/bin/pip install datasette==0.65.5  # the pin of pyproject's bench extra
    .venv/bin/python bench/vs_datasette.py --rows 100000 [--runs 15] [--postgres URL]

The file, bench/.data/pledges-<rows>.sqlite3, is made once by ``generate_pledges <rows> --seed 7``
and ANALYZE, and reused. With ``--postgres postgres://…/db`` the project side reads that
PostgreSQL database instead (filled the same way when it has no pledges, and vacuumed);
Datasette still serves the SQLite file.
The project answers repeated requests from its cache: the "after a write" column is
the first answer after a write to the database (to a category), each time, i.e. without the
cached answer. On PostgreSQL a search's count is kept under the search documents' own version,
which that write leaves as it is.
"""

import argparse
import http.client
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATA = ROOT / "bench" / ".data"
LIST = "/api/v1/pledges/?page_size=100"
REPORT = "/api/v1/reports/totals/?group_by="
TABLE = "/pledges_pledge.json?_size=100&_sort_desc=announced_on"
YEAR = "announced_on__gte=2024-01-01&announced_on__lte=2024-12-31"
LISTS = [
    ("list, page of 100", LIST, TABLE),
    ("list, donor=5", f"{LIST}&donor=5", f"{TABLE}&donor_id=5"),
    (
        "list, donor+status+year",
        f"{LIST}&donor=5&status=committed&date_from=2024-01-01&date_to=2024-12-31",
        f"{TABLE}&donor_id=5&status=committed&{YEAR}",
    ),
    (
        "list, ordering -value_eur",
        f"{LIST}&ordering=-value_eur",
        "/pledges_pledge.json?_size=100&_sort_desc=value_eur",
    ),
    ("list, search drone", f"{LIST}&search=drone", f"{TABLE}&title__contains=drone"),
]
# Datasette's scan for a word in every title may not finish in its default second: it asks the
# Datasette with the raised time limit, as the reports do.
LONG_LISTS = {"list, search drone"}
REPORTS = [
    (
        "report by donor, EUR",
        f"{REPORT}donor",
        "select donor_id, sum(value_eur) total, count(*) n from pledges_pledge "
        "group by donor_id order by total desc",
    ),
    (
        "report by donor, USD",
        f"{REPORT}donor&currency=USD",
        "select p.donor_id, sum(p.value_eur * r.rate) total, count(*) n from pledges_pledge p "
        "left join pledges_exchangerate r on r.currency = 'USD' and r.date = p.rate_date "
        "group by p.donor_id order by total desc",
    ),
    (
        "report category x month",
        f"{REPORT}category,month",
        "select category_id, strftime('%Y-%m', announced_on) month, sum(value_eur) total, "
        "count(*) n from pledges_pledge group by 1, 2 order by total desc",
    ),
]


def manage(env: dict, *args: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)


def filled(env: dict, rows: int) -> None:
    """Migrate, and generate the pledges once (reference data and rates first)."""
    manage(env, "migrate", "--no-input", "-v0")
    check = "from pledges.models import Pledge; print(Pledge.objects.exists())"
    out = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", check],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if out.strip().endswith("True"):
        return
    print(f"Generating {rows:,} pledges into {env['DATABASE_URL']} …", flush=True)
    manage(env, "load_ecb_rates")
    manage(env, "generate_pledges", str(rows), "--seed", "7")
    settled(env["DATABASE_URL"])


def settled(database_url: str) -> None:
    """A database just generated brought at once to the state it reaches in use, so that
    runs on it measure the same: PostgreSQL vacuumed (index-only counts) and analysed; SQLite
    analysed (the same file serves Datasette)."""
    if database_url.startswith("postgres"):
        import psycopg2

        connection = psycopg2.connect(database_url)
        connection.autocommit = True  # VACUUM runs outside a transaction
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connection.close()
        return
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
        connection.execute("ANALYZE")


def server_env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "API_ANON_THROTTLE_RATE": "1000000000/minute",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], env: dict, port: int, probe: str) -> subprocess.Popen:
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if fetch(port, probe)[0] < 500:
                return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"{command[0]} did not answer on port {port}")


def fetch(port: int, path: str, headers: dict | None = None) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if response.status != 200:
        raise SystemExit(f"{path} on port {port}: {response.status}")
    return response.status, elapsed * 1000


def median_ms(port: int, path: str, runs: int) -> float:
    return statistics.median(fetch(port, path)[1] for _ in range(runs))


def throughput(port: int, path: str, seconds: float = 10, connections: int = 8) -> float:
    counts = [0] * connections
    deadline = time.monotonic() + seconds

    def loop(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            counts[index] += response.status == 200
        connection.close()

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


class Writer:
    """A write to the project's database, which advances its data version: the next answer
    is computed, not read from the cache."""

    def __init__(self, database_url: str, sqlite_file: Path):
        self.database_url, self.sqlite_file = database_url, sqlite_file

    def touch(self) -> None:
        statement = (
            "UPDATE pledges_category SET description = description "
            "WHERE id = (SELECT MIN(id) FROM pledges_category)"
        )
        if self.database_url.startswith("postgres"):
            import psycopg2

            with psycopg2.connect(self.database_url) as connection, connection.cursor() as cur:
                cur.execute(statement)
            return
        with sqlite3.connect(self.sqlite_file, timeout=60) as connection:
            connection.execute(statement)


def after_write_ms(port: int, path: str, writer: Writer, runs: int) -> float:
    times = []
    for _ in range(runs):
        writer.touch()
        times.append(fetch(port, path)[1])
    return statistics.median(times)


def datasette(sqlite_file: Path, port: int, *setting: str) -> subprocess.Popen:
    """Datasette serving ``sqlite_file`` on ``port``, with one ``--setting`` name and value."""
    command = [str(BIN / "datasette"), "serve", str(sqlite_file), "-p", str(port)]
    if setting:
        command += ["--setting", *setting]
    return start(command, os.environ, port, "/-/versions.json")


def measure(args, ports: tuple[int, int, int], database: str, writer: Writer) -> list:
    """The rows of the table; ``ports``: the project's, Datasette's for the lists and
    Datasette's with the raised time limit."""
    project, datasette, datasette_reports = ports
    rows = []
    for label, ours, theirs in LISTS:
        port = datasette_reports if label in LONG_LISTS else datasette
        rows.append(
            (
                label,
                median_ms(project, ours, args.runs),
                after_write_ms(project, ours, writer, args.cold_runs),
                median_ms(port, f"/{database}{theirs}", args.runs),
            )
        )
        print("  measured:", *rows[-1], file=sys.stderr, flush=True)
    for label, ours, sql in [] if args.lists_only else REPORTS:
        theirs = f"/{database}.json?" + urllib.parse.urlencode({"sql": sql})
        cold = after_write_ms(project, ours, writer, 1)  # once: each may take long
        repeated = median_ms(project, ours, args.runs)
        rows.append((label, repeated, cold, median_ms(datasette_reports, theirs, args.runs)))
        print("  measured:", *rows[-1], file=sys.stderr, flush=True)
    return rows


def print_table(rows, project_rate: float, datasette_rate: float, title: str) -> None:
    print(f"\n{title}\n")
    print("| request | project, repeated (median) | project, after a write | Datasette (median) |")
    print("| --- | --- | --- | --- |")
    for label, repeated, cold, theirs in rows:
        print(f"| {label} | {repeated:,.1f} ms | {cold:,.1f} ms | {theirs:,.1f} ms |")
    print(
        f"| throughput, list donor=5, 8 connections | {project_rate:,.0f} req/s | "
        f"| {datasette_rate:,.0f} req/s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--postgres", help="postgres://… database for the project side")
    parser.add_argument("--lists-only", action="store_true", help="leave the reports out")
    args = parser.parse_args()
    if not (BIN / "datasette").exists():
        pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        bench = " ".join(pins["optional-dependencies"]["bench"])
        raise SystemExit(f"Datasette is missing: .venv/bin/pip install {bench}")
    DATA.mkdir(exist_ok=True)
    sqlite_file = DATA / f"pledges-{args.rows}.sqlite3"
    filled(server_env(f"sqlite:///{sqlite_file}"), args.rows)
    database_url = args.postgres or f"sqlite:///{sqlite_file}"
    if args.postgres:
        filled(server_env(args.postgres), args.rows)
    project_port, datasette_port, reports_port = free_port(), free_port(), free_port()
    gunicorn = [str(BIN / "gunicorn"), "config.wsgi:application", "-w", "2", "--timeout", "900"]
    servers = [
        start(
            [*gunicorn, "-b", f"127.0.0.1:{project_port}"],
            server_env(database_url),
            project_port,
            "/healthz",
        )
    ]
    try:
        # Datasette at its fastest for the lists: its default time limit, and no suggested
        # facets (a dozen GROUP BYs a page for its HTML view, seconds at 100,000 rows, that
        # a JSON client has no use for). A second one with its SQL time limit raised for the
        # GROUP BYs, which its default second would cut short. (Raised for the lists too, it
        # would finish the exact row count its default leaves out of a page.)
        servers.append(datasette(sqlite_file, datasette_port, "suggest_facets", "off"))
        servers.append(datasette(sqlite_file, reports_port, "sql_time_limit_ms", "900000"))
        writer = Writer(database_url, sqlite_file)
        ports = (project_port, datasette_port, reports_port)
        rows = measure(args, ports, sqlite_file.stem, writer)
        project_rate = throughput(project_port, f"{LIST}&donor=5")
        datasette_rate = throughput(datasette_port, f"/{sqlite_file.stem}{TABLE}&donor_id=5")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    engine = "PostgreSQL" if args.postgres else "SQLite"
    title = f"{args.rows:,} generated pledges; project on {engine}, Datasette on the SQLite file"
    print_table(rows, project_rate, datasette_rate, title)


if __name__ == "__main__":
    main()
