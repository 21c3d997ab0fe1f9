"""Why a pledge has no value in euros (docs/methodology.md#currency-conversion), said in words
a reader of the API understands."""

from collections.abc import Callable

from django.conf import settings

from .models import ExchangeRate, Pledge


def has_rates(currency: str) -> bool:
    """Whether any ECB rate for ``currency`` is stored (the ECB publishes it, or did)."""
    return ExchangeRate.objects.filter(currency=currency).exists()


def value_eur_note(pledge: Pledge, rates_known: Callable[[str], bool] = has_rates) -> str | None:
    """Why ``value_eur`` is null, or None when it is not. ``rates_known`` may be a cached
    ``has_rates``, so that a page of pledges asks once per currency."""
    if pledge.value_eur is not None:
        return None
    if pledge.amount is None:
        return "No amount is stated (a pledge in kind), so there is no value in euros."
    if not rates_known(pledge.currency):
        return (
            f"The ECB publishes no euro reference rate for {pledge.currency}, so the amount is "
            "not converted."
        )
    return (
        f"The ECB published no {pledge.currency} rate on {pledge.announced_on.isoformat()} or "
        f"in the {settings.EXCHANGE_RATE_MAX_AGE_DAYS} days before it, so the amount is not "
        "converted."
    )
