"""The public dashboard (README): a page that draws the reports API's figures."""

import datetime as dt

from django.db.models import Exists, Max, OuterRef
from django.shortcuts import render

from . import conversion
from .choices import PledgeStatus
from .models import Category, Donor, Event, ExchangeRate, Pledge

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
            # Only donors and events with pledges (one index probe each): others show nothing.
            "donors": Donor.objects.filter(Exists(Pledge.objects.filter(donor=OuterRef("pk")))),
            "events": Event.objects.filter(Exists(Pledge.objects.filter(event=OuterRef("pk")))),
            "currencies": currencies,
            "statuses": PledgeStatus.choices,
            "default_currency": conversion.EURO,
        },
    )
