"""django-filter's backend for DRF, except for how it reports a bad filter value.

django-filter's own translation applies ``message % params`` even to a message that has no
parameters, so a message that quotes what the client sent, such as ``?currency=%``, would
raise TypeError (a 500). Here the messages are taken as Django formats them: the template
with its parameters, or the text as it is.
"""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ErrorDetail, ValidationError


def filter_errors(filterset) -> ValidationError:
    """The errors of an invalid filterset as a 400, each message with its code."""
    return ValidationError(
        {
            name: [
                ErrorDetail(message, code=error.code or "invalid")
                for error in errors
                for message in error
            ]
            for name, errors in filterset.errors.as_data().items()
        }
    )


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise filter_errors(filterset)
        return filterset.qs
