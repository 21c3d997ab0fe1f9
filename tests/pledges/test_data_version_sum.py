"""The data version is read whatever its rows' random weights add up to (SQLite's SUM of
integers fails on a 64-bit overflow)."""

import pytest

from pledges import dataversion
from pledges.models import DataChange

pytestmark = pytest.mark.django_db


def test_weights_beyond_64_bits_are_added():
    DataChange.objects.all().delete()
    big = dataversion.WEIGHT_MODULUS - 1  # the largest weight a trigger writes
    DataChange.objects.bulk_create([DataChange(weight=big) for _ in range(4)])
    last = DataChange.objects.order_by("-id").values_list("id", flat=True).first()
    assert dataversion.current() == f"{(4 * big) % dataversion.WEIGHT_MODULUS:x}.{last:x}"
