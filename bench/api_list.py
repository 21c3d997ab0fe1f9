"""Benchmark of the pledge list endpoint: median time of filtered pages of 100, and
the number of SQL queries for 1 and for 1,000 rows on a page.

Run against a database filled by ``manage.py generate_pledges 1000000``:

    DEBUG=1 DATABASE_URL=postgres://…/pledges_bench python bench/api_list.py [--runs 30]

Requests go through the whole Django stack in-process (django.test.Client), without a network.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from pledges.models import Category, Donor, Pledge  # noqa: E402


def get(client: Client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.content[:300]!r}")
    return response


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        get(client, url)
    return len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    settings.API_ANON_THROTTLE_RATE = "1000000/minute"
    client = Client(HTTP_HOST="localhost")
    total = Pledge.objects.count()
    donors = list(Donor.objects.order_by("pk").values_list("pk", flat=True)[:3])
    slugs = list(Category.objects.order_by("pk").values_list("slug", flat=True)[:2])
    print(f"{connection.vendor}, {total:,} pledges")
    cases = {
        "no filter": "",
        "donor": f"donor={donors[0]}",
        "2 donors, committed, 2024": f"donor={donors[0]}&donor={donors[1]}&status=committed"
        "&date_from=2024-01-01&date_to=2024-12-31",
        "category, currency": f"category={slugs[0]}&category={slugs[1]}&currency=usd",
        "search": "search=radar",
        "ordering=-value_eur": "ordering=-value_eur",
        "donor, ordering=value_eur": f"donor={donors[2]}&ordering=value_eur",
        "page 100": "page=100",
    }
    print(f"{'case':32} {'median ms':>10} {'p95 ms':>8} {'count':>9}")
    for name, query in cases.items():
        url = f"/api/v1/pledges/?page_size=100&{query}"
        client.get(url)  # warm up
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            response = get(client, url)
            times.append((time.perf_counter() - start) * 1000)
        count = response.json()["count"]
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{name:32} {statistics.median(times):10.1f} {p95:8.1f} {count:9,}")
    print(
        "SQL queries, page of 1 / of 1000:",
        queries(client, "/api/v1/pledges/?page_size=1"),
        "/",
        queries(client, "/api/v1/pledges/?page_size=1000"),
    )


if __name__ == "__main__":
    main()
