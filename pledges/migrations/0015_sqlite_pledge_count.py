from django.db import migrations

from pledges import pledge_count


def install(apps, schema_editor):
    pledge_count.install(schema_editor, "sqlite")


def uninstall(apps, schema_editor):
    pledge_count.uninstall(schema_editor, "sqlite")


class Migration(migrations.Migration):
    """SQLite: the number of pledges kept by triggers too, as on PostgreSQL since 0011."""

    dependencies = [
        ("pledges", "0014_donor_date_status_index"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
