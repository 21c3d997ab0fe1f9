from django.db import migrations

from pledges import search


def install(apps, schema_editor):
    search.install_document_version(schema_editor)


def uninstall(apps, schema_editor):
    search.uninstall_document_version(schema_editor)


class Migration(migrations.Migration):
    """PostgreSQL: the search documents' own version, which a search's count is kept under."""

    dependencies = [
        ("pledges", "0015_sqlite_pledge_count"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
