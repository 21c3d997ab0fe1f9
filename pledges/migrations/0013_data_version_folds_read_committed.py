from django.db import migrations

from pledges import dataversion


def replace(apps, schema_editor):
    dataversion.replace_function(schema_editor)


class Migration(migrations.Migration):
    """PostgreSQL: the data version's triggers fold their rows under READ COMMITTED only.
    Going back leaves the function as it is: folding less often is harmless."""

    dependencies = [
        ("pledges", "0012_search_document_statistics"),
    ]

    operations = [
        migrations.RunPython(replace, migrations.RunPython.noop),
    ]
