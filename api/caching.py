"""Lists and reports answered from the cache under the data version (README).

An answer (the response's data, before rendering) is cached under the version of the data and
the normalised request; the version changes with every write (``pledges.dataversion``), so a
cached answer is never stale. The same two give the answer's ``ETag``: a client that sends it
back in ``If-None-Match`` gets ``304 Not Modified`` without the answer being computed or read.
Page counts are cached the same way, under the version and the filters alone, so turning the
pages of a large list counts its rows once. A JSON answer is kept rendered too: encoding a page
of 100 pledges again was most of the time a repeated request took.
"""

import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from rest_framework import status
from rest_framework.response import Response

from pledges import dataversion

TIMEOUT = 3600  # seconds: answers under older versions are never asked for again
PAGE_PARAMETERS = {"page", "page_size", "ordering", "format"}
# Answers kept rendered as well, by media type. Not the browsable API's HTML: its pages name
# the signed-in user.
RENDERED_TYPES = {"application/json"}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _normalised_query(request, leave_out=frozenset()) -> str:
    return "&".join(
        f"{name}={value}"
        for name in sorted(request.query_params)
        if name not in leave_out
        for value in sorted(request.query_params.getlist(name))
    )


def data_version(request) -> str:
    """The version this request's answers are cached under, read once, before any data."""
    if not hasattr(request, "data_version"):
        request.data_version = dataversion.current()
    return request.data_version


def count_key(request) -> str:
    """The cache key of the number of rows a list request's filters select."""
    query = _normalised_query(request, leave_out=PAGE_PARAMETERS)
    return "count:" + _digest(data_version(request), request.path, query)


def cached_answer(request, compute: Callable[[], Response]) -> Response:
    """``compute()``'s answer for ``request``, or the same from the cache; 304 for a matching
    ``If-None-Match``. Only successful answers are kept."""
    version = data_version(request)
    # The host and scheme are part of the request: a page's next/previous links name them.
    target = request.build_absolute_uri(request.path) + "?" + _normalised_query(request)
    key = "answer:" + _digest(version, target)
    etag = f'"{_digest(key, request.accepted_media_type or "")}"'
    # If-None-Match compares weakly: a W/ prefix (which compression may add) is ignored.
    known = {
        tag.removeprefix("W/") for tag in parse_etags(request.headers.get("If-None-Match", ""))
    }
    if etag in known or "*" in known:
        response = HttpResponseNotModified()  # not rendered: no body, whatever the format
    else:
        response = _answer(request, key, compute)
        if response.status_code != status.HTTP_200_OK:
            return response
    response["ETag"] = etag
    # Browsers keep the answer and ask again with If-None-Match each time; the browsable API's
    # pages name the signed-in user, so a shared cache keeps one copy per user.
    response["Cache-Control"] = "no-cache"
    patch_vary_headers(response, ["Authorization", "Cookie"])
    return response


def _answer(request, key: str, compute: Callable[[], Response]) -> HttpResponse:
    """The answer kept rendered, or its data rendered again, or ``compute()``'s; what is
    computed or rendered here is kept for the next time."""
    media_type = request.accepted_media_type or ""
    rendered_key = f"{key}:{media_type}"
    keeps_rendered = media_type.split(";")[0].strip() in RENDERED_TYPES
    if keeps_rendered and (rendered := cache.get(rendered_key)) is not None:
        content_type, content = rendered
        return HttpResponse(content, content_type=content_type)
    data = cache.get(key)
    if data is not None:
        response = Response(data)
    else:
        response = compute()
        if response.status_code != status.HTTP_200_OK:
            return response
        cache.set(key, response.data, TIMEOUT)
    if keeps_rendered:

        def keep(rendered_response):
            content = (rendered_response["Content-Type"], rendered_response.content)
            cache.set(rendered_key, content, TIMEOUT)

        response.add_post_render_callback(keep)
    return response


class CachedListMixin:
    """A viewset whose list is answered through ``cached_answer``."""

    def list(self, request, *args, **kwargs):
        return cached_answer(
            request, lambda: super(CachedListMixin, self).list(request, *args, **kwargs)
        )
