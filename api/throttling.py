from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class AnonymousThrottle(AnonRateThrottle):
    """Anonymous clients, by address; the rate is read per request so that tests can lower it."""

    def get_rate(self):
        return settings.API_ANON_THROTTLE_RATE
