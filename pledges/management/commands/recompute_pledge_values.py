from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from pledges import pledge_count
from pledges.services import recompute_derived_values


class Command(BaseCommand):
    help = (
        "Recompute every pledge's total, EUR value and rate date from the stored rates, and "
        "count the pledges again for the kept number the pledge list shows."
    )

    def handle(self, *args, **options):
        changed = recompute_derived_values()
        pledge_count.recount(DEFAULT_DB_ALIAS)
        self.stdout.write(self.style.SUCCESS(f"{changed} pledge values changed."))
