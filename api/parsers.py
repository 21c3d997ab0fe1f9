import io

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def nesting_depth(data) -> int:
    """How deeply the arrays and objects of parsed JSON nest (walked without recursion)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """JSON with the size limit Django applies to forms (DRF reads the raw stream and would
    otherwise accept a body of any size) and a limit on nesting: what reads the data (the
    JSON reader, validation, error messages) recurses once per level."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(body) > limit:
            raise PayloadTooLarge
        too_deep = ParseError(
            "JSON parse error - arrays and objects may nest at most "
            f"{settings.API_JSON_MAX_DEPTH} levels deep."
        )
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if nesting_depth(data) > settings.API_JSON_MAX_DEPTH:
            raise too_deep
        return data
