"""ISO code look-ups from pycountry, so that no list of codes is written by hand."""

from functools import cache

import pycountry


@cache
def currency_codes() -> frozenset[str]:
    """ISO 4217 alphabetic codes."""
    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def normalise_code(value: str | None) -> str:
    """Codes are accepted in any letter case and stored in upper case."""
    return (value or "").strip().upper()


def is_currency(code: str) -> bool:
    return normalise_code(code) in currency_codes()


def is_country(code: str) -> bool:
    return normalise_code(code) in country_codes()


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    """Every ISO 3166-1 country as (code, "Name (CODE)"), by name: "Ukraine (UA)"."""
    named = (
        (country.alpha_2, f"{getattr(country, 'common_name', country.name)} ({country.alpha_2})")
        for country in pycountry.countries
    )
    return tuple(sorted(named, key=lambda choice: choice[1]))
