"""OpenAPI pieces shared by the views: documented error answers, a hand-made page component,
and how ``NestedOnReadField`` looks in each direction."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERROR_DESCRIPTIONS = {
    400: "Invalid fields or parameters: an object naming each one with its messages (per-row "
    "objects for items and sources).",
    401: "No credentials: send `Authorization: Token <key>`.",
    403: "Authenticated, but without the permission for this.",
    404: "Not found.",
    409: "Still referred to by other records (e.g. a package with components).",
    412: "If-Match does not match the current ETag: nothing was changed.",
    413: "Request body too large.",
    415: "Unsupported content type: send application/json.",
    429: "Too many requests: throttled.",
}


def errors(*codes: int) -> dict:
    return {
        code: OpenApiResponse(
            response=OpenApiTypes.OBJECT if code == 400 else ErrorSerializer,
            description=ERROR_DESCRIPTIONS[code],
        )
        for code in codes
    }


READ_ERRORS = errors(400, 401, 403, 429)
WRITE_ERRORS = errors(400, 401, 403, 413, 415, 429)


def paginated(serializer_class) -> serializers.Serializer:
    """The page object of a list, for views whose response is declared by hand."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"{name}Page",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


class NestedOnReadFieldExtension(OpenApiSerializerFieldExtension):
    """An id in requests, the brief nested object in responses."""

    target_class = "api.serializers.NestedOnReadField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return build_basic_type(OpenApiTypes.INT)
        return auto_schema.resolve_serializer(self.target.brief_serializer, direction).ref
