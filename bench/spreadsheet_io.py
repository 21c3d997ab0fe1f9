#!/usr/bin/env python3
"""Benchmark of the spreadsheet export and import, and of the streaming CSV export's memory.

    python bench/spreadsheet_io.py [--count 100000] [--skip-setup]

Needs PostgreSQL. The source database (default ``pledges_bench_io``) gets the migrations, the
ECB rates, the reference fixtures and COUNT generated pledges; the target database (default
``pledges_bench_io_target``) gets the same reference data and no pledge. Then:

1. ``export_pledges`` of every pledge from the source (rows per second), CSV and XLSX;
2. ``import_pledges`` of that CSV into the empty target (rows per second), then the same file
   again (every row unchanged);
3. the target exported again: the file must equal the source's export byte for byte;
4. the streaming API export consumed for about 10% of the rows, then for all of them, each in a
   fresh process: peak Python allocations (tracemalloc) and peak RSS, which should not grow
   with the rows.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SERVER = "postgres://postgres@127.0.0.1:5432"


def manage(url: str, *args: str, quiet: bool = True) -> float:
    """Run a manage.py command against ``url``; returns the wall time in seconds."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - started


def recreate(name: str) -> None:
    for statement in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
        subprocess.run(
            ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c", statement], check=True
        )


def reference_data(url: str) -> None:
    manage(url, "migrate", "--no-input")
    manage(url, "load_ecb_rates")
    manage(url, "loaddata", "categories", "donors", "events")


def stream_memory(url: str, fraction: float) -> dict:
    """Consume the streaming export for ``fraction`` of the pledges in a fresh process."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    output = subprocess.run(
        [PYTHON, __file__, "--measure-stream", str(fraction)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.splitlines()[-1])


def measure_stream(fraction: float) -> None:
    """In-process: GET /api/v1/exports/pledges.csv and read the whole body, measuring memory."""
    import resource
    import tracemalloc

    # This script's folder comes first on sys.path, and its name would hide django-import-export.
    sys.path[0] = str(ROOT)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.test import Client

    from pledges.models import Pledge

    total = Pledge.objects.count()
    query = {}
    if fraction < 1:
        cutoff = Pledge.objects.order_by("announced_on").values_list("announced_on", flat=True)[
            int(total * fraction)
        ]
        query = {"date_to": cutoff.isoformat()}
    client = Client(HTTP_HOST="localhost")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/api/v1/exports/pledges.csv", query)
    lines = size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "rows": lines - 1,
                "bytes": size,
                "seconds": round(seconds, 2),
                "tracemalloc_peak_mb": round(peak / 2**20, 1),
                "rss_before_mb": round(rss_before / 1024, 1),
                "rss_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--source-db", default="pledges_bench_io")
    parser.add_argument("--target-db", default="pledges_bench_io_target")
    parser.add_argument("--skip-setup", action="store_true", help="Reuse the source database.")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--measure-stream", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_stream is not None:
        measure_stream(args.measure_stream)
        return

    source, target = f"{SERVER}/{args.source_db}", f"{SERVER}/{args.target_db}"
    if not args.skip_setup:
        print(f"Setting up {args.source_db} with {args.count} generated pledges …", flush=True)
        recreate(args.source_db)
        reference_data(source)
        manage(source, "generate_pledges", str(args.count))
    csv_path = args.workdir / "bench-pledges.csv"
    xlsx_path = args.workdir / "bench-pledges.xlsx"
    again_path = args.workdir / "bench-pledges-again.csv"

    seconds = manage(source, "export_pledges", "--output", str(csv_path))
    rows = sum(1 for _ in csv_path.open(encoding="utf-8")) - 1  # no newline inside cells here
    print(f"export CSV : {rows} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s")
    seconds = manage(source, "export_pledges", "--format", "xlsx", "--output", str(xlsx_path))
    print(f"export XLSX: {rows} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s")

    recreate(args.target_db)
    reference_data(target)
    manage(target, "shell", "-c", _SAME_GENERATED_REFERENCE_DATA)
    seconds = manage(target, "import_pledges", str(csv_path), "--verbosity", "0")
    print(f"import     : {rows} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s (empty DB)")
    seconds = manage(target, "import_pledges", str(csv_path), "--verbosity", "0")
    print(f"re-import  : {rows} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s (unchanged)")
    manage(target, "export_pledges", "--output", str(again_path))
    same = csv_path.read_bytes() == again_path.read_bytes()
    print(f"round trip : exported again from the target, identical file: {same}")

    for fraction in (0.1, 1.0):
        figures = stream_memory(source, fraction)
        print(
            f"API stream : {figures['rows']:>7} rows, {figures['bytes'] / 2**20:6.1f} MB in "
            f"{figures['seconds']:.1f} s; tracemalloc peak {figures['tracemalloc_peak_mb']} MB, "
            f"RSS {figures['rss_before_mb']} MB before, peak {figures['rss_peak_mb']} MB"
        )


# generate_pledges adds donors and categories named "Generated …": the target needs them too.
_SAME_GENERATED_REFERENCE_DATA = (
    "from pledges.management.commands.generate_pledges import Command; "
    "c = Command(); c._ensure_donors(50); c._ensure_categories(12)"
)

if __name__ == "__main__":
    main()
