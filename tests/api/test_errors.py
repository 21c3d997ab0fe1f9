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


def test_the_rows_are_spelt_out_for_other_readers():
    error = PledgeValidationError(ERRORS)
    assert error.children == {"sources": ERRORS["sources"], "items": ERRORS["items"]}
    assert error.message_dict["sources"] == ["row 2: url: Enter a valid URL."]


def test_plain_errors():
    assert validation_detail(ValidationError({"title": "Required."})) == {"title": ["Required."]}
    assert validation_detail(ValidationError("Wrong.")) == {"non_field_errors": ["Wrong."]}
