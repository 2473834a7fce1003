"""A window record's payload text (validation.encode_payload): msgspec writes it, and it must be
what the standard library writes (sorted keys, compact) for every payload a record may hold,
nulls included — the same text where strings are ASCII and numbers need no exponent (heart
rates, RR intervals, times, probabilities), the same value otherwise (msgspec writes UTF-8
where json.dumps writes escapes, and 1e16 for 1e+16) — and refuse NaN and ±inf wherever
they are, as the standard library does (msgspec alone would write them as null)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.records.base import InvalidInput
from services.records.validation import encode_payload
from services.records.window_payload import sample_payload


def stdlib(payload) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


any_floats = st.floats(allow_nan=False, allow_infinity=False)


def json_objects(text, floats=any_floats):
    values = st.recursive(
        st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | floats | text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=20)
    return st.dictionaries(text, values, max_size=6)


ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=8)
# where both write a float without an exponent (msgspec writes 1e16 where json writes 1e+16)
plain_floats = st.floats(-1e15, 1e15).filter(lambda x: x == 0 or abs(x) >= 1e-4)


@settings(max_examples=300, deadline=None)
@given(json_objects(ascii_text, plain_floats))
def test_the_standard_librarys_text_for_a_json_object_of_ascii_strings(payload):
    assert encode_payload(payload) == stdlib(payload)


@settings(max_examples=300, deadline=None)
@given(json_objects(st.text(max_size=8)))
def test_the_same_value_for_any_json_object(payload):
    assert json.loads(encode_payload(payload)) == payload


def test_a_real_null_is_written_as_null():
    payload = sample_payload(3)
    payload["prediction"] = dict(payload["prediction"], probability=None)
    assert b'"probability":null' in encode_payload(payload)
    assert encode_payload(payload) == stdlib(payload)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", ["prediction", "heartrate", "rr", "nested"])
def test_nan_and_infinity_are_refused_wherever_they_are(bad, where):
    payload = sample_payload(1)
    payload["prediction"] = dict(payload["prediction"], probability=None)  # a real null beside
    if where == "prediction":
        payload["prediction"]["threshold"] = bad
    elif where == "heartrate":
        payload["readings"][4]["heartrate"] = bad
    elif where == "rr":
        payload["readings"][7]["rr"] = [812.0, bad]
    else:
        payload["prediction"]["extra"] = {"a": [1, {"b": bad}]}
    with pytest.raises(InvalidInput, match="not JSON-serialisable"):
        encode_payload(payload)


def test_a_tuple_is_written_as_a_list():
    payload = dict(sample_payload(2), extra=(1, None, 2.5))
    assert encode_payload(payload) == stdlib(payload)
