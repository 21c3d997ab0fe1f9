from django.db import migrations, models

DESCENDING_INDEX = "pledge_value_eur_desc_idx"


def create_descending_index(apps, schema_editor):
    """ordering=-value_eur puts unvalued pledges last: on PostgreSQL an index in that order.
    SQLite cannot declare NULLS LAST in an index (it sorts such small tables quickly anyway)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {DESCENDING_INDEX} ON pledges_pledge "
            "(value_eur DESC NULLS LAST, id DESC)"
        )


def drop_descending_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {DESCENDING_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("pledges", "0002_groups"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="pledge",
            name="pledge_value_eur_idx",
        ),
        migrations.AddIndex(
            model_name="pledge",
            index=models.Index(fields=["value_eur", "id"], name="pledge_value_eur_idx"),
        ),
        migrations.RunPython(create_descending_index, drop_descending_index),
    ]
