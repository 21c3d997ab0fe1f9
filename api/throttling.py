"""Request rates, counted in the default cache so that every worker shares them.

Anonymous clients have an overall rate, by address. The expensive reads have a scope each
(``export``, ``reports``, ``search``) with its own rate for every client: per user when signed
in, per address otherwise. Rates are read per request so that tests can lower them.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, SimpleRateThrottle


def client_address(request) -> str:
    """The client's address behind ``API_NUM_PROXIES`` proxies (also django-axes's)."""
    return BaseThrottle().get_ident(request)


class AnonymousThrottle(AnonRateThrottle):
    """Anonymous clients, by address."""

    def get_rate(self):
        return settings.API_ANON_THROTTLE_RATE


class ScopedThrottle(SimpleRateThrottle):
    """A scope of ``API_SCOPED_THROTTLE_RATES``, for anonymous and signed-in clients alike."""

    scope = ""

    def applies(self, request, view) -> bool:
        return True

    def get_rate(self):
        return settings.API_SCOPED_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        return not self.applies(request, view) or super().allow_request(request, view)


class ExportThrottle(ScopedThrottle):
    scope = "export"


class ReportThrottle(ScopedThrottle):
    scope = "reports"


class SearchThrottle(ScopedThrottle):
    """Full-text ``search`` of pledges (title, description, item names), wherever it is given."""

    scope = "search"

    def applies(self, request, view) -> bool:
        return bool(request.query_params.get("search"))
