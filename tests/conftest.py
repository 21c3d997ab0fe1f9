import pytest
from django.core.management import call_command

from pledges import conversion


def load_rates() -> None:
    conversion.store_rates(conversion.read_ecb_history(conversion.bundled_ecb_history()))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database holds the full ECB history from the bundled file, loaded once."""
    with django_db_blocker.unblock():
        load_rates()


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
