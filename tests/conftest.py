import copy
import datetime as dt
import functools
import io
import sys
import zipfile

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import override_settings
from pytest_django.fixtures import _get_databases_for_setup, validate_django_db
from pytest_django.plugin import blocking_manager_key

from pledges import ecb

pytest_plugins = ["tests.browser"]

# The test databases hold the ECB rates from this day on: every date the tests convert at is
# later (the earliest, 2019, in tests/pledges/test_reports.py). Three quarters of the bundled
# history is older; without it every rate table read in memory (imports, recomputes) and every
# reload after a live-server test is a quarter of the work. A test that needs the whole history
# asks for ``full_ecb_history``.
RATES_FROM = dt.date(2018, 1, 1)
# Tables of no model (a flush after a live-server test leaves them): a copy of the session's
# rates, put back from it in one statement, and the rates before RATES_FROM.
RATES_COPY = "tests_session_rates"
OLDER_RATES = "tests_older_rates"


@functools.cache
def ecb_history() -> tuple[tuple[dt.date, str, object], ...]:
    """Every (date, currency, rate) of the bundled ECB file, read once per process."""
    return tuple(ecb.read_ecb_history(ecb.bundled_ecb_history()))


def insert_rates(triples, table: str = "pledges_exchangerate") -> None:
    """Rates written straight into the rate table of a test database (or a copy): COPY on
    PostgreSQL, one executemany on SQLite, in one transaction. ``ExchangeRate.objects.store``
    (what ``load_ecb_rates`` does, tested on its own) takes five times as long."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            lines = "".join(f"{code}\t{day.isoformat()}\t{rate}\n" for day, code, rate in triples)
            cursor.copy_expert(
                f"COPY {table} (currency, date, rate) FROM STDIN", io.StringIO(lines)
            )
        else:
            cursor.executemany(
                f"INSERT INTO {table} (currency, date, rate) VALUES (%s, %s, %s)",
                [(code, day.isoformat(), str(rate)) for day, code, rate in triples],
            )


def copy_rates(source: str, target: str = "pledges_exchangerate") -> None:
    """The rates of one table into another, in one statement."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {target} (currency, date, rate) SELECT currency, date, rate FROM {source}"
        )


def load_rates() -> None:
    """The session's rates (the bundled file's from ``RATES_FROM`` on), and their copy."""
    insert_rates([triple for triple in ecb_history() if triple[0] >= RATES_FROM])
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {RATES_COPY}")
        cursor.execute(
            f"CREATE TABLE {RATES_COPY} AS SELECT currency, date, rate FROM pledges_exchangerate"
        )


def session_rates_present() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pledges_exchangerate)")
        return bool(cursor.fetchone()[0])


def restore_rates() -> None:
    """The session's rates again, into a rate table emptied by a flush."""
    copy_rates(RATES_COPY)


@pytest.fixture(scope="session")
def _older_rates(django_db_setup, django_db_blocker) -> str:
    """A table with the bundled file's rates before ``RATES_FROM``, made the first time a test
    of this process asks for them."""
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {OLDER_RATES}")
            cursor.execute(f"CREATE TABLE {OLDER_RATES} AS SELECT * FROM {RATES_COPY} WHERE 1 = 0")
        insert_rates([t for t in ecb_history() if t[0] < RATES_FROM], table=OLDER_RATES)
    return OLDER_RATES


@pytest.fixture
def full_ecb_history(_older_rates, db):
    """The whole history of the bundled file in the rate table, as ``load_ecb_rates`` stores
    it: the rates before ``RATES_FROM`` too."""
    copy_rates(_older_rates)


@pytest.fixture(scope="session")
def _recent_ecb_file(tmp_path_factory) -> str:
    """The bundled ECB file (a zip of one CSV) cut to its rows from 2025 on."""
    with zipfile.ZipFile(ecb.BUNDLED_ECB_FILE) as archive:
        [name] = archive.namelist()
        header, *rows = archive.read(name).decode().splitlines(keepends=True)
    path = tmp_path_factory.mktemp("ecb") / "eurofxref-hist-2025.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, header + "".join(row for row in rows if row[:4] >= "2025"))
    return str(path)


@pytest.fixture
def recent_ecb_file(_recent_ecb_file, monkeypatch):
    """``load_ecb_rates`` reads a copy of the bundled file with only its rows from 2025 on: a
    rate reload of the days the test's pledges use, without writing 220,000 rates."""
    monkeypatch.setattr(ecb, "BUNDLED_ECB_FILE", _recent_ecb_file)


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
    """Every test database holds the ECB rates of the bundled file from ``RATES_FROM`` on,
    loaded once (per parallel worker). Without a database test in the run, no test database was
    made: nothing is loaded (it would go to the real database)."""
    if makes_a_test_database(request.session):
        with django_db_blocker.unblock():
            load_rates()


def makes_a_test_database(session) -> bool:
    return "default" in _get_databases_for_setup(session.items)[0]


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections(request, django_db_setup, django_db_blocker):
    """The live server's request threads may leave a PostgreSQL session open after the browser
    test; it would keep the test database from being dropped at the end. End them first."""
    yield
    if not makes_a_test_database(request.session):
        return
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashing():
    """Test users' passwords are hashed with MD5, in microseconds: the default PBKDF2 takes
    half a second a user on this machine's cores, by design. The default hashers stay in the
    list, so a password hashed by a server process of its own (the compose test's
    ``createsuperuser``) is still checked."""
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(scope="session", autouse=True)
def _no_collected_static_files(tmp_path_factory):
    """The site in this process looks for collected static files in an empty directory.
    Every test client's WhiteNoise reads the whole of STATIC_ROOT when it starts (85 ms for
    the 700 files that ``collectstatic``, run by the compose test, leaves in ``staticfiles/``),
    and no test here asks this process for a collected file: the servers that serve them (the
    compose test's) run in processes of their own."""
    with override_settings(STATIC_ROOT=tmp_path_factory.mktemp("static-root")):
        yield


@pytest.fixture
def rates_kept():
    """Named by the live-server tests: after the flush that ends a transactional test, the
    session's rates are put back (below). Every transactional test has that now, asked for or
    not."""


def flushed_after(item) -> tuple[bool, bool]:
    """Whether pytest-django flushes the database after ``item`` (a transactional test), and
    whether it does so without the migrations' data (serialized rollback: it is put back at
    the start of the next such test, not after the flush)."""
    marker = item.get_closest_marker("django_db")
    transactional = serialized = False
    if marker:
        transactional, reset_sequences, _, serialized, _ = validate_django_db(marker)
        transactional = transactional or reset_sequences
    fixtures = set(item.fixturenames)
    transactional = transactional or bool(fixtures & {"transactional_db", "live_server"})
    serialized = serialized or "django_db_serialized_rollback" in fixtures
    return transactional, transactional and serialized


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a transactional test's flush, the database is put back as the session made it:
    the migrations' data (groups, permissions, content types) and the session's rates. Then
    any test may follow one: the slow tests, live-server ones among them, run first. After the
    last test the session's test database is gone: nothing to put back."""
    # After every fixture's teardown: pytest-django's flush comes after the test's own
    # fixtures are torn down, so a fixture could not do this after it.
    result = yield
    flushed, serialized = flushed_after(item)
    if flushed and nextitem is not None:
        with item.config.stash[blocking_manager_key].unblock():
            # A transactional test skipped before its fixtures (no Chromium) was not flushed.
            if session_rates_present():
                return result
            contents = getattr(connection, "_test_serialized_contents", None)
            if serialized and contents is not None:
                connection.creation.deserialize_db_from_string(contents)
            restore_rates()
    return result


def shared_by_module(make):
    """A module-scoped fixture: ``make()`` writes its data once for all the tests of a module,
    in a transaction rolled back after the last of them. Each test runs in a savepoint inside it
    (pytest-django's ``db``), so what one test writes is gone before the next, and every test of
    the module sees the data, asked for or not. Not for a module with transactional tests (a
    live server): their flush would end the transaction."""

    @pytest.fixture(scope="module")
    def fixture(django_db_setup, django_db_blocker):
        with django_db_blocker.unblock():
            atomic = transaction.atomic()
            # As the class-wide transaction of Django's TestCase: not counted against a
            # durable atomic block inside a test.
            atomic._from_testcase = True
            atomic.__enter__()
            try:
                value = make()
            except BaseException:
                atomic.__exit__(*sys.exc_info())
                raise
        yield value
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)

    return fixture


def load_reference_data() -> None:
    """The fixtures of the project (categories, donors, events, seed pledges) with values."""
    call_command("load_reference_data", verbosity=0, stdout=io.StringIO())


@pytest.fixture
def reference_data(db):
    """The fixtures of the project (categories, donors, events, seed pledges) with values.
    (A module whose tests all read them may share them instead: ``shared_by_module``.)"""
    load_reference_data()


@pytest.fixture(scope="session", autouse=True)
def _cache_per_worker(worker_id):
    """Parallel workers may share one Redis (REDIS_URL): each keeps its keys under a prefix of
    its own, so that an answer cached by one (under its database's data version) never reaches
    another, and one worker's emptying of its cache leaves the other's alone. Through
    ``override_settings``, which drops a cache made before (at collection): a prefix written
    into the settings reached only caches made after, and with none some workers kept their
    keys unprefixed and deleted each other's (a throttle or a cached count lost mid-test)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"tests-{worker_id}"
    with override_settings(CACHES=caches):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache(worker_id):
    """The API's anonymous throttle counts and cached answers: every test starts from none.
    On Redis only this worker's keys are deleted (a FLUSHDB would empty the other's too)."""
    from django.core.cache import cache

    assert cache.key_prefix == f"tests-{worker_id}", "the cache is not this worker's own"

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


def pytest_collection_modifyitems(config, items):
    """The slow tests (server processes, a browser, the fuzzer) first: in a parallel run they
    start while the many quick ones fill the other worker, instead of ending the run alone.
    The order within each part is pytest-django's (transactional tests after the others), and
    each transactional test leaves the database as it found it (``pytest_runtest_teardown``)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
