import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from pledges import ecb
from pledges.models import ExchangeRate


def load_rates() -> None:
    ExchangeRate.objects.store(ecb.read_ecb_history(ecb.bundled_ecb_history()))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite the test database is a file: the live-server tests read from other threads,
    and an in-memory database would lock them out."""
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        settings_dict["TEST"]["NAME"] = str(settings.BASE_DIR / ".test-db.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database holds the full ECB history from the bundled file, loaded once."""
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
def rates_kept(django_db_blocker):
    """A live-server test is transactional: the database is flushed after it, rates too.
    Set up before the database fixtures, this puts the session's rates back after the flush,
    for the tests that follow."""
    yield
    with django_db_blocker.unblock():
        load_rates()


@pytest.fixture
def reference_data(db):
    """The fixtures of the project (categories, donors, events, seed pledges) with values."""
    call_command("load_reference_data", verbosity=0)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The API's anonymous throttle counts in the cache: every test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
