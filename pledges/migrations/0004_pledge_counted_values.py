"""Each pledge's counted value kept for the reports (``pledges.counted``), computed here for
the pledges already stored."""

from collections import defaultdict

from django.db import migrations, models

from pledges.conversion import RateTable, own_counted_cents, to_cents

BATCH_SIZE = 2000


def fill_counted_values(apps, schema_editor):
    Pledge = apps.get_model("pledges", "Pledge")
    ExchangeRate = apps.get_model("pledges", "ExchangeRate")
    rates = RateTable(ExchangeRate.objects.values_list("currency", "date", "rate").iterator())
    components: dict[int, int] = defaultdict(int)
    for package_id, value in (
        Pledge.objects.filter(parent__isnull=False, value_eur__isnull=False)
        .exclude(status="cancelled")
        .values_list("parent_id", "value_eur")
    ):
        components[package_id] += to_cents(value)
    batch = []
    for pledge in Pledge.objects.order_by("pk").iterator(chunk_size=BATCH_SIZE):
        rate = None
        if pledge.value_eur is not None:
            rate = rates.rate_for(pledge.currency, pledge.announced_on)
        pledge.eur_rate = rate.rate if rate else None
        years = None
        if pledge.amount_basis == "per_year":
            years = pledge.period_end_year - pledge.period_start_year + 1
        own = own_counted_cents(pledge.value_eur, pledge.amount, pledge.eur_rate, years)
        less = components.get(pledge.pk, 0)
        pledge.counted_cents, pledge.counted_period_cents = (
            None if cents is None else max(0, cents - less) for cents in own
        )
        batch.append(pledge)
        if len(batch) >= BATCH_SIZE:
            Pledge.objects.bulk_update(batch, ["eur_rate", "counted_cents", "counted_period_cents"])
            batch = []
    Pledge.objects.bulk_update(batch, ["eur_rate", "counted_cents", "counted_period_cents"])


class Migration(migrations.Migration):
    dependencies = [
        ("pledges", "0003_value_eur_ordering_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="pledge",
            name="counted_cents",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="pledge",
            name="counted_period_cents",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="pledge",
            name="eur_rate",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                editable=False,
                help_text="Units of the currency per euro: the rate of value_eur.",
                max_digits=18,
                null=True,
            ),
        ),
        migrations.RunPython(fill_counted_values, migrations.RunPython.noop, elidable=True),
    ]
