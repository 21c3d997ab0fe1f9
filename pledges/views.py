"""The public dashboard (README): a page that draws the reports API's figures."""

import datetime as dt

from django.db.models import Max
from django.shortcuts import render

from . import conversion
from .choices import PledgeStatus
from .models import Category, ExchangeRate

# Offered first in the currency menu; every currency the ECB still publishes follows.
MAIN_CURRENCIES = ["EUR", "USD", "GBP"]


def dashboard(request):
    latest = ExchangeRate.objects.aggregate(latest=Max("date"))["latest"]
    published = (
        ExchangeRate.objects.filter(date__gte=latest - dt.timedelta(days=7))
        .values_list("currency", flat=True)
        .distinct()
        if latest
        else []
    )
    currencies = MAIN_CURRENCIES + sorted(set(published) - set(MAIN_CURRENCIES))
    return render(
        request,
        "pledges/dashboard.html",
        {
            "categories": Category.objects.all(),
            "currencies": currencies,
            "statuses": PledgeStatus.choices,
            "default_currency": conversion.EURO,
        },
    )
