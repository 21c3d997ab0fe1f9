from django.db import migrations

REPORT_INDEX = "pledge_report_covering_idx"
# Every column a report reads of a pledge (its keys, filters on status and re-announcements,
# and the stored money of its figures), led by the date that a report in another currency
# joins on. Frozen here, as a migration is: a report that comes to read another column keeps
# working, by the table, and tests/pledges/test_report_plans.py says so.
REPORT_COLUMNS = (
    "announced_on",
    "status",
    "reannounces_id",
    "donor_id",
    "category_id",
    "event_id",
    "confidence",
    "recipient",
    "currency",
    "amount",
    "eur_rate",
    "total_amount",
    "counted_cents",
    "counted_period_cents",
    "allocated_cents",
    "delivered_cents",
    "allocated_amount",
    "delivered_amount",
    "amount_basis",
    "period_start_year",
    "period_end_year",
    "undated",
)


def create_report_index(apps, schema_editor):
    """On SQLite a report reads its pledges from this index alone, never from the wide rows of
    the table (titles, descriptions). PostgreSQL reads the table in parallel workers and keeps
    its own plans. The model does not know this index: a later migration that makes SQLite
    rebuild the table (Django's ``_remake_table``) drops it, and must create it again, as it
    must the search triggers of 0006 (the plan test fails until it does)."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {REPORT_INDEX} ON pledges_pledge "
            f"({', '.join(REPORT_COLUMNS)})"
        )


def drop_report_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {REPORT_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("pledges", "0008_fulfilment_records"),
    ]

    operations = [
        migrations.RunPython(create_report_index, drop_report_index),
    ]
