"""Errors a client causes become 4xx answers that name what was wrong, never 5xx."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.views import exception_handler as drf_exception_handler

from .parsers import PayloadTooLarge


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The resource has changed since you read it (If-Match does not match its ETag); "
        "read it again and reapply your change."
    )
    default_code = "precondition_failed"


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = (
        "Send the ETag you read as If-Match: a record is changed or deleted only as it was read."
    )
    default_code = "precondition_required"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _rows_by_index(messages: Any) -> Any:
    """Per-row errors as DRF gives them for nested lists: {row index: errors}, bad rows only."""
    if isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages):
        return {index: row for index, row in enumerate(messages) if row}
    return messages


def validation_detail(error: DjangoValidationError) -> Any:
    """A Django ValidationError as DRF error detail, keeping per-row errors when there are."""
    detail = getattr(error, "detail", None)
    if isinstance(detail, dict):
        return {field: _rows_by_index(messages) for field, messages in detail.items()}
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"non_field_errors": error.messages}


def still_referenced(exc: ProtectedError | RestrictedError) -> Conflict:
    """A delete refused by a PROTECT/RESTRICT foreign key, with what still refers to it."""
    found = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
    objects = list(found)
    if not objects:
        return Conflict("Cannot delete: other records still refer to it.")
    meta = objects[0]._meta
    kind = meta.verbose_name if len(objects) == 1 else meta.verbose_name_plural
    shown = "; ".join(sorted(str(obj) for obj in objects[:10]))
    return Conflict(
        f"Cannot delete: {len(objects)} {kind} still refer to it ({shown}). "
        "Delete or move them first."
    )


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(validation_detail(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        exc = still_referenced(exc)
    return drf_exception_handler(exc, context)
