from django.core.management import call_command
from django.core.management.base import BaseCommand

from pledges.models import Category, ExchangeRate, Pledge, PledgeItem, Source
from pledges.services import recompute_derived_values

REFERENCE_FIXTURES = ["categories", "donors", "events", "pledges"]


class Command(BaseCommand):
    help = (
        "Load the reference data (categories, donors, UDCG events and the pledges of the seed "
        "articles), the ECB rates if none are stored yet, and compute every pledge's EUR value."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds categories (keeps local edits).",
        )

    def handle(self, *args, if_empty: bool, **options):
        if if_empty and Category.objects.exists():
            self.stdout.write("Reference data already loaded; nothing to do.")
            return
        call_command("loaddata", *REFERENCE_FIXTURES, verbosity=options["verbosity"])
        if not ExchangeRate.objects.exists():
            call_command("load_ecb_rates", verbosity=options["verbosity"])
        else:
            # Fixtures are loaded raw: their derived values are computed here.
            changed = recompute_derived_values()
            self.stdout.write(f"{changed} pledge values computed.")
        record_first_versions()


def record_first_versions() -> None:
    """Fixtures are loaded raw, without history: each pledge, item and source without any gets
    its first version ("created", by nobody) as it stands, its values computed. Its history
    then answers, and the first edit is shown as a change from it."""
    for model in (Pledge, PledgeItem, Source):
        recorded = model.history.model.objects.values("id")
        unrecorded = list(model.objects.exclude(pk__in=recorded))
        model.history.bulk_history_create(unrecorded, default_change_reason="reference data")
