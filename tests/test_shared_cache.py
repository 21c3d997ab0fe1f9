"""With REDIS_URL set, every web process shares one cache in Redis (Django's own
backend), so the anonymous throttle is one limit for all of them; without it, each process
has its own memory cache. Against the real Redis on 127.0.0.1:6379."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from config.redis_cache import ReusedClientRedisCache
from tests.servers import ROOT, gunicorn

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
# Server processes, on the test database (a run of this module alone makes one too).
pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def redis_answers() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        return False


# A machine with only Python has no Redis server: there these tests say so and are skipped.
# In CI (.ci/run starts Redis) a missing server is a failure, not a skip.
needs_redis = pytest.mark.skipif(
    not os.environ.get("CI") and not redis_answers(),
    reason=f"no Redis server answers at {REDIS_URL} (.ci/run starts one)",
)


@pytest.fixture
def key_prefix():
    """A prefix of this test's own: its keys are removed afterwards, nothing else is."""
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def cache_backend(env: dict[str, str]) -> str:
    """The default cache's backend class as a fresh process configures it from ``env``."""
    code = (
        "import django; django.setup(); from django.core.cache import caches; "
        "cache = caches['default']; print(type(cache).__module__ + '.' + type(cache).__name__)"
    )
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1")
    return (
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=environment, check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
    )


@needs_redis
def test_the_cache_is_redis_with_redis_url_and_local_memory_without():
    assert cache_backend({"REDIS_URL": REDIS_URL}) == "config.redis_cache.ReusedClientRedisCache"
    assert cache_backend({}) == "django.core.cache.backends.locmem.LocMemCache"


@needs_redis
def test_one_redis_client_object_serves_every_operation_and_thread(key_prefix):
    """Django's own backend makes a client object an operation; this one keeps one per
    connection pool, which must still give every thread its own answers."""
    cache = ReusedClientRedisCache(REDIS_URL, {"KEY_PREFIX": key_prefix})
    made = []
    real_client = cache._cache._client
    cache._cache._client = lambda **kwargs: made.append(real_client(**kwargs)) or made[-1]

    def write_and_read(thread: int) -> list:
        for n in range(50):
            cache.set(f"{thread}-{n}", {"thread": thread, "n": n})
        return [cache.get(f"{thread}-{n}") for n in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(write_and_read, range(8)))
    assert answers == [[{"thread": t, "n": n} for n in range(50)] for t in range(8)]
    assert len(made) == 1  # 800 operations, one client object (one pool: one server)
    assert cache.get("absent", "default") == "default"


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310 (local)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@needs_redis
def test_two_server_processes_share_one_anonymous_throttle(key_prefix):
    env = {
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": key_prefix,
        "API_ANON_THROTTLE_RATE": "10/hour",
        "DEBUG": "1",
    }
    with gunicorn(env) as first, gunicorn(env) as second:
        answers = [
            status_of(f"{server}/api/v1/categories/")
            for _ in range(6)
            for server in (first, second)
        ]
    # Ten in all, not ten each: the 11th and 12th requests are refused, whichever process.
    assert answers == [200] * 10 + [429] * 2
    # One throttle history, for the one client address (beside the cached answers and counts).
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{key_prefix}:*throttle_*")
    assert len(keys) == 1


def test_without_redis_each_process_counts_alone():
    env = {"API_ANON_THROTTLE_RATE": "10/hour", "DEBUG": "1", "REDIS_URL": ""}
    with gunicorn(env) as first, gunicorn(env) as second:
        answers = [
            status_of(f"{server}/api/v1/categories/")
            for _ in range(6)
            for server in (first, second)
        ]
    assert answers == [200] * 12
