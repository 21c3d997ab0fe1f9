from django.db import migrations

from pledges import search


def install(apps, schema_editor):
    search.install_documents(schema_editor)


def uninstall(apps, schema_editor):
    search.uninstall_documents(schema_editor)


class Migration(migrations.Migration):
    """PostgreSQL: ``search`` answered from one document per pledge, kept by triggers."""

    dependencies = [
        ("pledges", "0009_sqlite_report_index"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
