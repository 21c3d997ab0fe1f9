from django.db import migrations

from pledges import search


def install(apps, schema_editor):
    search.install(schema_editor)


def uninstall(apps, schema_editor):
    search.uninstall(schema_editor)


class Migration(migrations.Migration):
    """``search`` indexed: trigram GIN indexes on PostgreSQL, FTS5 trigram tables on SQLite."""

    dependencies = [
        ("pledges", "0005_data_version"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
