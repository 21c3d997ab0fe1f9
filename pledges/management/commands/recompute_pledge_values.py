from django.core.management.base import BaseCommand

from pledges.services import recompute_derived_values


class Command(BaseCommand):
    help = "Recompute every pledge's total, EUR value and rate date from the stored rates."

    def handle(self, *args, **options):
        changed = recompute_derived_values()
        self.stdout.write(self.style.SUCCESS(f"{changed} pledge values changed."))
