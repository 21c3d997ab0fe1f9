from django.db import migrations

from pledges import pledge_count


def install(apps, schema_editor):
    pledge_count.install(schema_editor, "postgresql")


def uninstall(apps, schema_editor):
    pledge_count.uninstall(schema_editor, "postgresql")


class Migration(migrations.Migration):
    """PostgreSQL: the number of pledges kept by triggers, for the unfiltered list's count."""

    dependencies = [
        ("pledges", "0010_search_documents"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
