"""Envelope primitives: associated data binds every field; wrapped keys bind their reference."""

import os

import pytest

from services.records import TamperDetected, crypto


@pytest.mark.parametrize(
    "other",
    [
        ("ns2", "0xr", 1, "0xo"),
        ("ns", "0xs", 1, "0xo"),
        ("ns", "0xr", 2, "0xo"),
        ("ns", "0xr", 1, "0xp"),
    ],
)
def test_associated_data__any_field_changed__does_not_open(other):
    key = crypto.new_data_key()
    sealed = crypto.seal(key, b"window", crypto.associated_data("ns", "0xr", 1, "0xo"))
    assert (
        crypto.open_sealed(key, sealed, crypto.associated_data("ns", "0xr", 1, "0xo")) == b"window"
    )
    with pytest.raises(TamperDetected):
        crypto.open_sealed(key, sealed, crypto.associated_data(*other))


def test_associated_data__fields_cannot_shift_into_each_other():
    assert crypto.associated_data("ab", "c", 1, "o") != crypto.associated_data("a", "bc", 1, "o")


def test_wrap__other_key_ref_or_master__does_not_unwrap():
    master, data_key = os.urandom(32), crypto.new_data_key()
    wrapped = crypto.wrap_key(master, data_key, "ref1")
    assert crypto.unwrap_key(master, wrapped, "ref1") == data_key
    with pytest.raises(TamperDetected):
        crypto.unwrap_key(master, wrapped, "ref2")
    with pytest.raises(TamperDetected):
        crypto.unwrap_key(os.urandom(32), wrapped, "ref1")
