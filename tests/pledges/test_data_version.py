"""The data version advances with every write path, whoever writes: the database's
triggers advance it, so no path can forget to."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from pledges import bulk, dataversion
from pledges.importing import import_file
from pledges.models import Category, DataChange, Donor, ExchangeRate, Pledge
from tests.factories import CategoryFactory, DonorFactory, PledgeFactory
from tests.pledges.test_bulk import children, new_pledges

pytestmark = pytest.mark.django_db


def advances(write) -> None:
    before = dataversion.current()
    write()
    after = dataversion.current()
    assert after != before
    assert dataversion.current() == after  # reading does not advance it


def test_every_table_the_api_shows_is_tracked_and_has_triggers():
    shown = {
        model._meta.db_table
        for model in apps.get_app_config("pledges").get_models()
        if model is not DataChange and not model.__name__.startswith("Historical")
    }
    assert shown == set(dataversion.TRACKED_TABLES)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT event_object_table FROM information_schema.triggers "
                "WHERE action_statement LIKE '%%pledges_data_changed%%'"
            )
        else:
            cursor.execute("SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger'")
        assert {table for (table,) in cursor.fetchall()} == shown


def test_reading_does_not_advance_and_each_write_does():
    donor = DonorFactory()
    first = dataversion.current()
    assert Donor.objects.count() >= 1
    assert dataversion.current() == first
    advances(lambda: Donor.objects.filter(pk=donor.pk).update(name="Renamed"))
    advances(lambda: CategoryFactory())
    advances(lambda: Category.objects.all().delete())


def test_a_write_in_raw_sql_advances_it():
    pledge = PledgeFactory()

    def raw():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE pledges_pledge SET title = 'raw' WHERE id = %s", [pledge.pk])

    advances(raw)


def test_a_write_rolled_back_leaves_the_version_as_it_was():
    before = dataversion.current()
    with pytest.raises(RuntimeError), transaction.atomic():
        DonorFactory()
        assert dataversion.current() != before  # a transaction sees its own writes
        raise RuntimeError
    assert dataversion.current() == before


def test_each_statement_of_a_transaction_advances_it():
    """An answer read in the middle of a transaction is not taken for its end."""
    with transaction.atomic():
        advances(lambda: DonorFactory())
        advances(lambda: DonorFactory())


def test_api_writes_and_deletes_advance_it(client, django_user_model):
    pledge = PledgeFactory()
    user = django_user_model.objects.create_superuser("admin", password="x")
    client.force_login(user)
    advances(lambda: client.delete(f"/api/v1/pledges/{pledge.pk}/"))
    assert not Pledge.objects.filter(pk=pledge.pk).exists()


def test_the_admin_advances_it(admin_client):
    def add():
        response = admin_client.post(
            "/admin/pledges/category/add/", {"slug": "mines", "name": "Mines", "description": ""}
        )
        assert response.status_code == 302

    advances(add)
    assert Category.objects.filter(slug="mines").exists()


def test_the_bulk_path_advances_it():
    """COPY on PostgreSQL, simple_history's bulk create elsewhere."""
    pledges = new_pledges(DonorFactory(), CategoryFactory(), "bulk")
    now = timezone.now()

    def create(objs, model):
        bulk.create_with_history(objs, model, user=None, change_reason="bulk", date=now)

    advances(lambda: create(pledges, Pledge))
    items, sources = children(pledges)
    advances(lambda: create(items, items[0].__class__))
    advances(lambda: create(sources, sources[0].__class__))


def test_an_import_advances_it(tmp_path):
    call_command("loaddata", "categories", "donors", "events", verbosity=0)
    PledgeFactory(donor=Donor.objects.first(), category=Category.objects.first())
    path = tmp_path / "export.csv"
    call_command("export_pledges", "--format", "csv", "--output", str(path))
    Pledge.objects.all().delete()
    advances(lambda: import_file(path.read_bytes(), "csv"))
    assert Pledge.objects.count() == 1


def test_fixtures_rate_reloads_and_recomputes_advance_it(recent_ecb_file):
    advances(lambda: call_command("load_reference_data", verbosity=0, stdout=StringIO()))
    day = dt.date(2025, 6, 4)
    ExchangeRate.objects.filter(currency="USD", date=day).update(rate=Decimal("2"))
    advances(lambda: call_command("load_ecb_rates", stdout=StringIO()))
    PledgeFactory(amount=Decimal("1000.00"), currency="USD", announced_on=day)
    Pledge.objects.update(value_eur=Decimal("1.00"))
    advances(lambda: call_command("recompute_pledge_values", stdout=StringIO()))
    advances(
        lambda: call_command("generate_pledges", "5", "--seed", "7", verbosity=0, stdout=StringIO())
    )
