"""Each pledge's counted value kept for the reports (``pledges.counted``), computed here for
the pledges already stored."""

from collections import defaultdict

from django.db import migrations, models
from django.db.models import BigIntegerField, Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Round

from pledges.conversion import own_counted_cents, to_cents
from pledges.expressions import DaysBefore

BATCH_SIZE = 2000
MAX_AGE_DAYS = 7  # settings.EXCHANGE_RATE_MAX_AGE_DAYS when this was written


def fill_counted_values(apps, schema_editor):
    """In bulk: every converted pledge's rate and its EUR value in cents. Then, one by one,
    the few that differ: per-year pledges (their yearly amount) and packages (less their
    components)."""
    Pledge = apps.get_model("pledges", "Pledge")
    ExchangeRate = apps.get_model("pledges", "ExchangeRate")
    rate = ExchangeRate.objects.filter(
        currency=OuterRef("currency"),
        date__lte=OuterRef("announced_on"),
        date__gte=DaysBefore(OuterRef("announced_on"), MAX_AGE_DAYS),
    ).order_by("-date")
    cents = Cast(Round(F("value_eur") * 100), BigIntegerField())
    Pledge.objects.filter(value_eur__isnull=False).update(
        eur_rate=Case(
            When(currency="EUR", then=Value(1)),
            default=Subquery(rate.values("rate")[:1]),
            output_field=models.DecimalField(max_digits=18, decimal_places=6),
        ),
        counted_cents=cents,
        counted_period_cents=cents,
    )
    components: dict[int, int] = defaultdict(int)
    for package_id, value in (
        Pledge.objects.filter(parent__isnull=False, value_eur__isnull=False)
        .exclude(status="cancelled")
        .values_list("parent_id", "value_eur")
    ):
        components[package_id] += to_cents(value)
    packages = Pledge.objects.filter(parent__isnull=False).values("parent_id")
    others = Pledge.objects.filter(Q(amount_basis="per_year") | Q(pk__in=packages))
    batch = []
    for pledge in others.filter(value_eur__isnull=False).order_by("pk").iterator(BATCH_SIZE):
        years = None
        if pledge.amount_basis == "per_year":
            years = pledge.period_end_year - pledge.period_start_year + 1
        own = own_counted_cents(pledge.value_eur, pledge.amount, pledge.eur_rate, years)
        less = components.get(pledge.pk, 0)
        pledge.counted_cents, pledge.counted_period_cents = (max(0, c - less) for c in own)
        batch.append(pledge)
    Pledge.objects.bulk_update(
        batch, ["counted_cents", "counted_period_cents"], batch_size=BATCH_SIZE
    )


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
