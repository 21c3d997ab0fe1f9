"""Load test: concurrent clients against a running server, then errors and latency
percentiles. Loopback only; bounded in time.

Start the site as it is deployed (gunicorn with the repository's gunicorn.conf.py: threaded
workers that keep connections alive; the shared Redis cache) with the anonymous and the
reports throttles raised (every client here is the same address: otherwise the report requests
are 429s, counted as errors), e.g. on a database filled by ``manage.py generate_pledges
1000000``:

    SECRET_KEY=bench DATABASE_URL=postgres://…/bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        API_ANON_THROTTLE_RATE=1000000/minute API_REPORTS_THROTTLE_RATE=1000000/minute \\
        SECURE_SSL_REDIRECT=0 ALLOWED_HOSTS=127.0.0.1 GUNICORN_BIND=127.0.0.1:8010 \\
        gunicorn -c gunicorn.conf.py config.wsgi:application
    python bench/load.py --url http://127.0.0.1:8010 --clients 50 --seconds 60

Plain ``gunicorn -w 4`` runs synchronous workers, which close the connection after every
answer: each request then pays for a new connection and waits for a free process.
"""

import argparse
import http.client
import random
import statistics
import threading
import time
import urllib.parse

PATHS = [
    "/api/v1/pledges/?page_size=100",
    "/api/v1/pledges/?donor={donor}&page_size=100",
    "/api/v1/pledges/?status=committed&date_from=2024-01-01&date_to=2024-12-31&page_size=100",
    "/api/v1/pledges/?donor={donor}&ordering=-value_eur&page_size=100",
    "/api/v1/pledges/{pledge}/",
    "/api/v1/reports/totals/?group_by=donor&donor={donor}",
    "/healthz",
]


def client_loop(base, deadline, seed, results, errors):
    rng = random.Random(seed)  # noqa: S311 - request mix, not secrets
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    while time.monotonic() < deadline:
        path = rng.choice(PATHS).format(donor=rng.randrange(1, 58), pledge=rng.randrange(1, 1000))
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Host": base.netloc})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            errors.append(f"{path}: {error!r}")
            connection.close()
            connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
            continue
        elapsed = time.perf_counter() - started
        if status >= 500 or status == 429:
            errors.append(f"{path}: {status}")
        results.append((path.split("?")[0], elapsed, status))
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8010")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    base = urllib.parse.urlsplit(args.url)
    if base.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("Only a server on this machine (loopback) may be load-tested.")
    results, errors = [], []
    deadline = time.monotonic() + args.seconds
    threads = [
        threading.Thread(target=client_loop, args=(base, deadline, n, results, errors))
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(elapsed for _, elapsed, _ in results)
    if not latencies:
        raise SystemExit(f"No request answered; errors: {errors[:5]}")
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{args.clients} clients for {args.seconds:.0f} s against {args.url}")
    print(f"requests {len(results)}  ({len(results) / args.seconds:.1f}/s)  errors {len(errors)}")
    print(
        f"latency ms: median {cuts[49] * 1000:.1f}  p95 {cuts[94] * 1000:.1f}  "
        f"p99 {cuts[98] * 1000:.1f}  max {latencies[-1] * 1000:.1f}"
    )
    for error in errors[:10]:
        print("  error:", error)
    raise SystemExit(1 if errors else 0)


if __name__ == "__main__":
    main()
