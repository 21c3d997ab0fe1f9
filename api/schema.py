"""OpenAPI pieces shared by the views: documented error answers, a hand-made page component,
and how ``NestedOnReadField`` looks in each direction."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from pledges.choices import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERROR_DESCRIPTIONS = {
    400: "Invalid fields or parameters: an object naming each one with its messages (for items "
    "and sources, an object of the bad rows by index).",
    401: "No credentials: send `Authorization: Token <key>`.",
    403: "Authenticated, but without the permission for this.",
    404: "Not found: an unknown id, or a page past the last one.",
    409: "Still referred to by other records (e.g. a package with components).",
    412: "If-Match does not match the current ETag: nothing was changed.",
    428: "If-Match is required (send the ETag read before): nothing was changed.",
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


# Reads are public unless API_READS_REQUIRE_LOGIN (then 401 without credentials).
READ_ERRORS = errors(401, 404, 429)
LIST_ERRORS = errors(400, 401, 404, 429)
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


# --- constraints the validators enforce, stated in the schema -------------------------

WHOLE_DIGITS = AMOUNT_MAX_DIGITS - AMOUNT_DECIMAL_PLACES
# A positive amount of at most WHOLE_DIGITS digits before the point and two after it.
POSITIVE_AMOUNT = (
    rf"^(?:[1-9][0-9]{{0,{WHOLE_DIGITS - 1}}}(?:\.[0-9]{{1,{AMOUNT_DECIMAL_PLACES}}})?"
    rf"|0?\.(?:0[1-9]|[1-9][0-9]?))$"
)


# What a request may hold, by property or query parameter name; the model validators check the
# same. ISO codes are accepted in any letter case, and must be codes that pycountry knows.
CODE_LETTERS = {"currency": 3, "pledge_currency": 3, "recipient": 2, "iso2": 2}
PATTERNS = {"amount": POSITIVE_AMOUNT, "url": "^[Hh][Tt][Tt][Pp][Ss]?://"}


def _constrain(schema: dict, name: str) -> None:
    if "$ref" in schema:
        return
    if name in CODE_LETTERS:
        code = f"[A-Za-z]{{{CODE_LETTERS[name]}}}"
        blank_allowed = "maxLength" in schema and schema.get("minLength", 0) == 0
        schema["pattern"] = f"^(?:{code})?$" if blank_allowed else f"^{code}$"
    elif name in PATTERNS:
        schema["pattern"] = PATTERNS[name]


def stated_constraints(result, generator, request, public):
    """drf-spectacular post-processing hook: request bodies and query parameters state the
    constraints above (answers are described as they are)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            for field, schema in component.get("properties", {}).items():
                _constrain(schema, field)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    _constrain(parameter["schema"], parameter["name"])
    return result
