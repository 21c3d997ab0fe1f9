from collections.abc import Callable
from functools import cached_property, partial

from django.core.cache import cache
from django.core.paginator import Paginator
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from .caching import PAGE_PARAMETERS, TIMEOUT, count_key

MAX_PAGE_SIZE = 1000


def is_positive_integer(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and bool(raw.lstrip("0"))


class CountCachedPaginator(Paginator):
    """A paginator whose row count is read from the cache when it is there (see
    ``api.caching``): under a data version the count of a filtered list cannot change.
    ``known_count``, when given, may tell the count without the queryset's ``COUNT(*)``
    (None: it cannot)."""

    def __init__(
        self, *args, count_key: str, known_count: Callable[[], int | None] | None = None, **kw
    ):
        super().__init__(*args, **kw)
        self.count_key = count_key
        self.known_count = known_count

    @cached_property
    def count(self) -> int:
        return cache.get_or_set(self.count_key, self._count, TIMEOUT)

    def _count(self) -> int:
        known = self.known_count() if self.known_count else None
        return Paginator.count.func(self) if known is None else known


class PageNumberPagination(pagination.PageNumberPagination):
    """``page`` and ``page_size`` (default 50, capped at 1000); a malformed value is a 400,
    a page past the end a 404."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = f"Results per page (default 50, at most {MAX_PAGE_SIZE})."

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
            else:
                parameter["description"] += " A page past the last one is a 404."
        return parameters

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not is_positive_integer(raw):
            raise ValidationError({self.page_size_query_param: ["A positive integer is required."]})
        digits = raw.lstrip("0")
        return self.max_page_size if len(digits) > 4 else min(int(digits), self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings and not is_positive_integer(raw):
            raise ValidationError({self.page_query_param: ["A positive integer is required."]})
        self.view = view
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, queryset, page_size):
        """DRF calls this as a class; answers cached under the data version count once. A view
        with a ``known_count(filters, using)`` is asked first for its list (None: count)."""
        if not hasattr(self.request, "data_version"):
            return Paginator(queryset, page_size)
        known_count = getattr(self.view, "known_count", None)
        if known_count is not None and getattr(self.view, "action", None) == "list":
            params = self.request.query_params
            filters = {name: params.get(name) for name in params if name not in PAGE_PARAMETERS}
            known_count = partial(known_count, filters, queryset.db)
        return CountCachedPaginator(
            queryset, page_size, count_key=count_key(self.request), known_count=known_count
        )
