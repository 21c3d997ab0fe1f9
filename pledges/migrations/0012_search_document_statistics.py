from django.db import migrations

from pledges import search


def finer(apps, schema_editor):
    search.set_document_statistics(schema_editor, search.DOCUMENT_STATISTICS)


def default(apps, schema_editor):
    search.set_document_statistics(schema_editor, search.DEFAULT_STATISTICS)


class Migration(migrations.Migration):
    """PostgreSQL: finer statistics of the search documents, for steadier search plans."""

    dependencies = [
        ("pledges", "0011_pledge_count"),
    ]

    operations = [
        migrations.RunPython(finer, default),
    ]
