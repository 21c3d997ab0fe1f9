import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from pledges import conversion, ecb
from pledges.choices import AmountBasis
from pledges.models import ExchangeRate
from tests.ecb import ecb_rate, ecb_rates
from tests.factories import PledgeFactory


def convert(amount, from_currency, to_currency, on_date):
    """``conversion.convert`` at the stored rates, as the write path converts a pledge."""
    return conversion.convert(amount, from_currency, to_currency, on_date, ExchangeRate.objects)


pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
SATURDAY = dt.date(2025, 6, 7)
FRIDAY = dt.date(2025, 6, 6)


def test_the_stored_history_is_the_whole_bundled_file(full_ecb_history):
    from pledges.models import ExchangeRate

    expected = sum(len(days) for days in ecb_rates().values())
    assert ExchangeRate.objects.count() == expected
    assert ExchangeRate.objects.get(currency="GBP", date=FRIDAY).rate == ecb_rate("GBP", FRIDAY)


def test_a_weekend_date_takes_the_previous_business_day():
    assert SATURDAY.weekday() == 5
    rate = ExchangeRate.objects.rate_for("GBP", SATURDAY)
    assert rate.date == FRIDAY
    assert rate.requested_date == SATURDAY
    assert rate.rate == ecb_rate("GBP", FRIDAY)


def test_currency_codes_are_accepted_in_any_case():
    assert ExchangeRate.objects.rate_for("gbp", FRIDAY).currency == "GBP"
    assert convert(Decimal(100), "usd", "eur", FRIDAY) == convert(
        Decimal(100), "USD", "EUR", FRIDAY
    )


def test_conversion_to_euro_divides_by_the_rate_and_rounds_to_cents():
    amount = Decimal("4500000000")
    expected = (amount / ecb_rate("GBP", dt.date(2025, 6, 4))).quantize(CENT, ROUND_HALF_UP)
    result = convert(amount, "GBP", "EUR", dt.date(2025, 6, 4))
    assert result.value == expected == Decimal("5343783398.65")
    assert result.rate_date == dt.date(2025, 6, 4)


def test_euro_to_another_currency_uses_the_same_rule():
    result = convert(Decimal("1000"), "EUR", "USD", SATURDAY)
    assert result.value == (Decimal(1000) * ecb_rate("USD", FRIDAY)).quantize(CENT)
    assert result.rate_date == FRIDAY


def test_cross_rates_go_through_the_euro_on_that_date():
    day = dt.date(2025, 6, 4)
    amount = Decimal("350000000")
    expected = (amount / ecb_rate("GBP", day) * ecb_rate("USD", day)).quantize(CENT, ROUND_HALF_UP)
    assert convert(amount, "GBP", "USD", day).value == expected


def test_a_currency_the_ecb_does_not_publish_is_not_converted():
    assert "UAH" not in ecb_rates()
    assert ExchangeRate.objects.rate_for("UAH", FRIDAY) is None
    assert convert(Decimal(1000), "UAH", "EUR", FRIDAY) is None
    assert convert(Decimal(1000), "EUR", "UAH", FRIDAY) is None


def test_a_rate_older_than_seven_days_is_never_used():
    last_rub = max(ecb_rates()["RUB"])
    assert ExchangeRate.objects.rate_for("RUB", last_rub + dt.timedelta(days=7)).date == last_rub
    assert ExchangeRate.objects.rate_for("RUB", last_rub + dt.timedelta(days=8)) is None
    assert convert(Decimal(1), "RUB", "EUR", last_rub + dt.timedelta(days=30)) is None


def test_no_rate_before_the_first_ecb_date(full_ecb_history):
    assert ExchangeRate.objects.rate_for("USD", dt.date(1998, 12, 31)) is None


def test_the_in_memory_table_follows_the_same_rule_as_the_database(full_ecb_history):
    table = ExchangeRate.objects.table()
    last_rub = max(ecb_rates()["RUB"])
    days = [SATURDAY, FRIDAY, dt.date(2024, 12, 25), dt.date(1999, 1, 1), last_rub]
    days += [last_rub + dt.timedelta(days=n) for n in (1, 7, 8)]
    for currency in ("GBP", "USD", "RUB", "UAH", "EUR", "NOK"):
        for day in days:
            assert table.rate_for(currency, day) == ExchangeRate.objects.rate_for(currency, day)


def test_the_in_memory_table_reads_each_currency_once_when_first_used(
    django_assert_num_queries,
):
    table = ExchangeRate.objects.table()
    with django_assert_num_queries(0):
        assert table.rate_for("EUR", SATURDAY).rate == 1
    with django_assert_num_queries(1):  # the dollar's rates, and no other currency's
        assert table.rate_for("usd", SATURDAY).rate == ecb_rate("USD", FRIDAY)
    with django_assert_num_queries(0):
        for day in (FRIDAY, dt.date(2024, 12, 24)):
            assert table.rate_for("USD", day).rate == ecb_rate("USD", day)
    with django_assert_num_queries(1):  # none stored: asked once, then known
        assert table.rate_for("UAH", SATURDAY) is None
        assert table.rate_for("UAH", FRIDAY) is None


def test_a_per_year_total_multiplies_by_the_years_of_the_period():
    assert conversion.pledge_total(
        Decimal("1000000000"), AmountBasis.PER_YEAR, 2025, 2029
    ) == Decimal("5000000000")
    assert conversion.pledge_total(Decimal("7"), AmountBasis.PER_YEAR, 2025, 2025) == Decimal(7)
    assert conversion.pledge_total(Decimal("7"), AmountBasis.TOTAL) == Decimal(7)
    assert conversion.pledge_total(None, AmountBasis.TOTAL) is None


def test_a_saved_pledge_derives_its_total_and_euro_value():
    pledge = PledgeFactory(
        amount=Decimal("1000000000.00"),
        currency="usd",
        amount_basis=AmountBasis.PER_YEAR,
        period_start_year=2025,
        period_end_year=2029,
        announced_on=SATURDAY,
    )
    pledge.refresh_from_db()
    assert pledge.currency == "USD"
    assert pledge.total_amount == Decimal("5000000000.00")
    assert pledge.value_eur == (Decimal(5000000000) / ecb_rate("USD", FRIDAY)).quantize(
        CENT, ROUND_HALF_UP
    )
    assert pledge.rate_date == FRIDAY


def test_an_unconverted_pledge_keeps_its_total_and_has_no_euro_value():
    pledge = PledgeFactory(amount=Decimal("500.00"), currency="UAH")
    pledge.refresh_from_db()
    assert pledge.total_amount == Decimal("500.00")
    assert pledge.value_eur is None
    assert pledge.rate_date is None


def test_the_ecb_file_reader_skips_missing_values():
    data = b"Date,USD,RUB,\n2025-06-06,1.1411,N/A,\n2025-06-05,1.1423,90.5,\n"
    triples = list(ecb.read_ecb_history(data))
    assert triples == [
        (FRIDAY, "USD", Decimal("1.1411")),
        (dt.date(2025, 6, 5), "USD", Decimal("1.1423")),
        (dt.date(2025, 6, 5), "RUB", Decimal("90.5")),
    ]
