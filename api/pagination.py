from functools import cached_property

from django.core.cache import cache
from django.core.paginator import Paginator
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

from .caching import TIMEOUT, count_key

MAX_PAGE_SIZE = 1000


def is_positive_integer(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and bool(raw.lstrip("0"))


class CountCachedPaginator(Paginator):
    """A paginator whose row count is read from the cache when it is there (see
    ``api.caching``): under a data version the count of a filtered list cannot change."""

    def __init__(self, *args, count_key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_key = count_key

    @cached_property
    def count(self) -> int:
        return cache.get_or_set(self.count_key, lambda: Paginator.count.func(self), TIMEOUT)


class PageNumberPagination(pagination.PageNumberPagination):
    """``page`` and ``page_size`` (default 50, capped at 1000); a malformed value is a 400,
    a page past the end a 404."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = f"Results per page (default 50, at most {MAX_PAGE_SIZE})."

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
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, queryset, page_size):
        """DRF calls this as a class; answers cached under the data version count once."""
        if not hasattr(self.request, "data_version"):
            return Paginator(queryset, page_size)
        return CountCachedPaginator(queryset, page_size, count_key=count_key(self.request))
