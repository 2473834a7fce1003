"""The parameter checks alone (services/sigv4proxy/params.py): the spec's forms pass, near misses
do not, and no JSON value whatever makes a check fail any other way than with ParamError (a
TypeError there was a 500); likewise for the whole admission path and for upstream answers."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sigv4proxy.admission import Admission
from services.sigv4proxy.contracts import WriteTargets
from services.sigv4proxy.jsonrpc import Refusal
from services.sigv4proxy.params import (
    KNOWN_METHODS,
    ParamError,
    check_params,
    quantity_value,
)
from services.sigv4proxy.policy import Policy
from services.sigv4proxy.replies import BadReply, Sent, check_reply
from services.sigv4proxy.settings import DEFAULT_ALLOWED_METHODS


@pytest.mark.parametrize(
    ("text", "bits", "value"),
    [
        ("0x0", 64, 0),
        ("0x1", 64, 1),
        ("0x7cf", 64, 0x7CF),
        ("0x" + "f" * 16, 64, 2**64 - 1),
        ("0x" + "f" * 17, 64, None),
        ("0x" + "f" * 64, 256, 2**256 - 1),
        ("0x00", 64, None),
        ("0x01", 64, None),
        ("0x7_cf", 64, None),
        ("0x7cf ", 64, None),
        ("0x7cf\n", 64, None),
        ("0x7CF", 64, None),
        ("0X7cf", 64, None),
        ("0x", 64, None),
        ("0x\u0667", 64, None),  # an Arabic-Indic digit: int() would take it
        ("7cf", 64, None),
        (7, 64, None),
        (None, 64, None),
    ],
)
def test_quantity_value__spec_form_only(text, bits, value):
    assert quantity_value(text, bits) == value


def test_every_default_method_has_a_check():
    assert set(DEFAULT_ALLOWED_METHODS) <= KNOWN_METHODS


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=70)
    | st.sampled_from(["0x0", "0x1", "latest", "0x" + "ab" * 20, "0x" + "cd" * 32, "logs"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["fromBlock", "toBlock", "address", "topics", "to", "data", "x", "blockHash"]
            )
            | st.text(max_size=10),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(method=st.sampled_from(sorted(KNOWN_METHODS)), params=json_values)
def test_any_json__passes_or_param_error__nothing_else(method, params):
    try:
        check_params(method, params)
    except ParamError:
        pass


ADMISSION = Admission(
    Policy(sorted(KNOWN_METHODS), WriteTargets(31337, frozenset()), 2000),
    "allow",
    20,
    lambda *_: None,
)
calls = st.fixed_dictionaries(
    {
        "jsonrpc": st.just("2.0"),
        "id": st.integers(),
        "method": st.sampled_from(sorted(KNOWN_METHODS)),
    },
    optional={"params": json_values},
)


@settings(max_examples=100, deadline=None)
@given(body=calls | st.lists(calls, max_size=4) | json_values)
def test_any_body__admitted_or_refusal__nothing_else(body):
    """The whole admission path (shape, batch, params, log range, raw transactions)."""
    try:
        ADMISSION.check(body, lambda tag, fresh: 100)
    except Refusal:
        pass


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=80) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_upstream_answer__checked_or_bad_reply__nothing_else(body):
    sent = Sent((1,), False, frozenset({1}), frozenset())
    try:
        check_reply(200, body, sent, (b"secret-token",), 31337)
    except BadReply:
        pass
