"""The attestation's signed bytes, written directly for the shape masters make, must be exactly
what the general canonical encoder gives — for that shape and for anything a forger might send
(a pure function: no hosts needed)."""

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.peers import attestation
from services.peers.attestation import KIND, signed_bytes

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
devices = st.text(alphabet=BASE58, min_size=1, max_size=52) | st.text(max_size=8)
seqs = st.integers(0, 2**53 - 1) | st.integers(-(2**60), 2**60) | st.booleans() | st.floats(0, 10)
digests = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32) | st.text(max_size=4)
entries = st.lists(st.tuples(seqs, digests).map(list) | st.lists(seqs, max_size=3), max_size=12)
bodies = (st.fixed_dictionaries({"device": devices, "readings": entries})
          | st.dictionaries(st.sampled_from(["device", "readings", "x"]),
                            devices | entries | st.none(), max_size=3))


def _reference(body):
    try:
        return rfc8785.dumps({"kind": KIND, "body": body})
    except Exception:  # noqa: BLE001
        return None


@settings(max_examples=300, deadline=None)
@given(body=bodies)
def test_signed_bytes__equal_the_canonical_encoding(body):
    expected = _reference(body)
    if expected is None:  # not encodable at all (an int beyond 2**53): refused as before
        with pytest.raises(Exception):  # noqa: B017
            signed_bytes(body)
    else:
        assert signed_bytes(body) == expected


def test_signed_bytes__of_a_masters_attestation_take_the_direct_path(monkeypatch):
    body = {"device": "12D3KooW" + "a" * 44, "readings": [[7, "0" * 32], [8, "f" * 32]]}
    expected = rfc8785.dumps({"kind": KIND, "body": body})

    def general_encoder(value):
        raise AssertionError("the general encoder was used")

    monkeypatch.setattr(attestation, "canonical", general_encoder)
    assert signed_bytes(body) == expected
