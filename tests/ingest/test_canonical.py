"""The fast canonical encoders (msgspec's text where it is canonical, and the Python fast path)
must agree with the rfc8785 package on everything they accept."""

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.reading import _compiled, _fast, canonical

scalars = (st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=12) | st.booleans() | st.none())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=5), max_leaves=15)
readings = st.fixed_dictionaries(
    {"userId": st.text(alphabet="123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
                       min_size=1, max_size=52),
     "heartrate": st.floats(20, 260) | st.integers(0, 300),
     "ts_ms": st.integers(0, 2**45), "seq": st.integers(0, 2**53 - 1),
     "signal": st.sampled_from(["rr", "hr_instantaneous", "hr_averaged"])},
    optional={"rr": st.lists(st.integers(0, 5000), max_size=16)})


def _reference(value):
    try:
        return rfc8785.dumps(value)
    except Exception:  # noqa: BLE001
        return None


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_fast_path__agrees_with_rfc8785_or_declines(value):
    fast = _fast(value)
    if fast is not None:
        assert fast.encode() == _reference(value)


@settings(max_examples=300, deadline=None)
@given(value=st.lists(values, max_size=4) | st.dictionaries(st.text(max_size=6), values,
                                                             max_size=4))
def test_compiled_text__agrees_with_rfc8785_or_declines(value):
    compiled = _compiled(value)
    if compiled is not None:
        assert compiled == _reference(value)


# What msgspec writes differently, or what is near the edge of what it may take
EDGES = [72.0, -72.0, 0.0, -0.0, -0.05, 0.0001, 0.00009999, 1e15, 999999999999999.9,
         1e16, 1e21, 1e-7, 5e-324, 0.1 + 0.2, 2**53 - 1, 2**53, -(2**53), 10**20, True, None,
         "72.0,", "a.0]b", "é", "\x7f", "tab\t", 'quote"', "back\\slash"]


@pytest.mark.parametrize("edge", EDGES, ids=repr)
def test_compiled_text__edges__agree_or_decline(edge):
    for value in ([edge], {"k": edge}, [{"heartrate": edge, "seq": 1}, 3.5], [edge, 61.0]):
        compiled = _compiled(value)
        assert compiled is None or compiled == _reference(value), value
        if _reference(value) is not None:
            assert canonical(value) == _reference(value)


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(readings, min_size=1, max_size=10))
def test_readings_and_batches__take_the_fast_path_and_agree(batch):
    assert _fast(batch) is not None
    if all(reading["seq"] < 10**15 for reading in batch):  # 16 digits: declined, to be sure
        assert _compiled(batch) is not None, "a batch is canonical as msgspec writes it"
    assert canonical(batch) == rfc8785.dumps(batch)
    assert canonical(batch[0]) == rfc8785.dumps(batch[0])
