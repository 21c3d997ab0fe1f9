"""How refused writes are translated into 400 answers."""

from django.core.exceptions import ValidationError

from api.exceptions import validation_detail
from pledges.services import PledgeValidationError

ERRORS = {
    "amount": ["Too big."],
    "sources": [{}, {"url": ["Enter a valid URL."]}],
    "items": [{"quantity": ["Must be positive."]}],
}
EXPECTED = {
    "amount": ["Too big."],
    "sources": {1: {"url": ["Enter a valid URL."]}},
    "items": {0: {"quantity": ["Must be positive."]}},
}


def test_service_errors_keep_their_rows():
    assert validation_detail(PledgeValidationError(ERRORS)) == EXPECTED


def test_rows_kept_as_children_are_read_too():
    """A ValidationError that carries the rows in ``children`` answers the same."""
    error = ValidationError({"amount": ERRORS["amount"]})
    error.children = {"sources": ERRORS["sources"], "items": ERRORS["items"]}
    assert validation_detail(error) == EXPECTED


def test_plain_errors():
    assert validation_detail(ValidationError({"title": "Required."})) == {"title": ["Required."]}
    assert validation_detail(ValidationError("Wrong.")) == {"non_field_errors": ["Wrong."]}
