import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from pytest_django.fixtures import _get_databases_for_setup
from pytest_django.plugin import blocking_manager_key

from pledges import ecb

pytest_plugins = ["tests.browser"]


def load_rates() -> None:
    """The full ECB history of the bundled file, written straight into the empty rate table of
    a test database: COPY on PostgreSQL, one executemany in one transaction on SQLite.
    ``ExchangeRate.objects.store`` (what ``load_ecb_rates`` does, tested on its own) took five
    times as long; every parallel worker loads its own database, and each live-server test
    loads the rates again after its flush."""
    triples = ecb.read_ecb_history(ecb.bundled_ecb_history())
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            lines = "".join(f"{code}\t{day.isoformat()}\t{rate}\n" for day, code, rate in triples)
            cursor.copy_expert(
                "COPY pledges_exchangerate (currency, date, rate) FROM STDIN", io.StringIO(lines)
            )
        else:
            cursor.executemany(
                "INSERT INTO pledges_exchangerate (currency, date, rate) VALUES (%s, %s, %s)",
                [(code, day.isoformat(), str(rate)) for day, code, rate in triples],
            )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request):
    """On SQLite the test database is a file: the live-server tests read from other threads,
    and an in-memory database would lock them out. Each parallel worker then adds its suffix
    (pytest-django's fixture: ``_gw0``, ``_gw1``…), so each has a file of its own."""
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        settings_dict["TEST"]["NAME"] = str(settings.BASE_DIR / ".test-db.sqlite3")
    request.getfixturevalue("django_db_modify_db_settings_parallel_suffix")


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker):
    """Every test database holds the full ECB history from the bundled file, loaded once (per
    parallel worker). Without a database test in the run, no test database was made: nothing
    is loaded (it would go to the real database)."""
    if "default" in _get_databases_for_setup(request.session.items)[0]:
        with django_db_blocker.unblock():
            load_rates()


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections(django_db_setup, django_db_blocker):
    """The live server's request threads may leave a PostgreSQL session open after the browser
    test; it would keep the test database from being dropped at the end. End them first."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def rates_kept():
    """A live-server test is transactional: the database is flushed after it, rates too. A test
    that asks for this fixture has the session's rates put back after that flush (below), for
    the tests that follow."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # After every fixture's teardown: pytest-django's flush comes after the test's own
    # fixtures are torn down, so a fixture could not reload the rates after it. After the last
    # test the session's test database is gone: nothing to put back.
    result = yield
    if "rates_kept" in item.fixturenames and nextitem is not None:
        with item.config.stash[blocking_manager_key].unblock():
            load_rates()
    return result


@pytest.fixture
def reference_data(db):
    """The fixtures of the project (categories, donors, events, seed pledges) with values."""
    call_command("load_reference_data", verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _cache_per_worker(worker_id):
    """Parallel workers may share one Redis (REDIS_URL): each keeps its keys under a prefix of
    its own, so that an answer cached by one (under its database's data version) never reaches
    another."""
    from django.conf import settings

    settings.CACHES["default"]["KEY_PREFIX"] = f"tests-{worker_id}"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The API's anonymous throttle counts and cached answers: every test starts from none.
    On Redis only this worker's keys are deleted (a FLUSHDB would empty the other's too)."""
    from django.core.cache import cache

    def clear():
        client = getattr(getattr(cache, "_cache", None), "get_client", None)
        if client is None:
            cache.clear()
            return
        redis = client(write=True)
        keys = list(redis.scan_iter(match=cache.make_key("*")))
        if keys:
            redis.delete(*keys)

    clear()
    yield
    clear()
