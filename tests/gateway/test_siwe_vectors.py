"""EIP-4361 conformance: the gateway's parser against our vector files (tests/gateway/vectors,
same cases as the reference implementation's parsing vectors), and agreement with the `siwe`
package's ABNF grammar on every one of them."""

import json
from pathlib import Path

import pytest
import siwe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.gateway.errors import BadRequest
from services.gateway.siwe import parse_message

VECTORS = Path(__file__).with_name("vectors")
POSITIVE = json.loads((VECTORS / "eip4361_parsing_positive.json").read_text())
NEGATIVE = json.loads((VECTORS / "eip4361_parsing_negative.json").read_text())
FIELD_NAMES = {"chainId": "chain_id", "issuedAt": "issued_at", "expirationTime": "expiration_time",
               "notBefore": "not_before", "requestId": "request_id"}


def test_vectors__cover_the_reference_cases():
    assert len(POSITIVE) >= 19 and len(NEGATIVE) >= 29


@pytest.mark.parametrize("name", POSITIVE)
def test_positive_vector__parses_to_its_fields(name):
    vector = POSITIVE[name]
    message = parse_message(vector["message"])
    for field, expected in vector["fields"].items():
        assert getattr(message, FIELD_NAMES.get(field, field)) == expected, field
    for absent in {"statement", "scheme", "expirationTime", "notBefore", "requestId",
                   "resources"} - set(vector["fields"]):
        assert getattr(message, FIELD_NAMES.get(absent, absent)) is None, absent


@pytest.mark.parametrize("name", NEGATIVE)
def test_negative_vector__refused_with_a_reason(name):
    with pytest.raises(BadRequest) as refused:
        parse_message(NEGATIVE[name])
    assert refused.value.status == 400 and refused.value.message


@pytest.mark.parametrize("name", [*POSITIVE, *NEGATIVE])
def test_abnf_grammar__agrees_with_the_gateway_parser(name):
    """The gateway parses with siwe's regular expression (docs: siwe.py, why); the ABNF grammar
    of EIP-4361 must read each vector the same way (up to the canonical-form cases, which the
    grammar also refuses)."""
    text = POSITIVE[name]["message"] if name in POSITIVE else NEGATIVE[name]
    try:
        by_grammar = siwe.SiweMessage.from_message(text, abnf=True)
    except ValueError:
        by_grammar = None
    if name in POSITIVE:
        assert by_grammar == parse_message(text)
    else:
        assert by_grammar is None or by_grammar.prepare_message() != text


MUTATIONS = ["\n", "\r", "\t", " ", ":", "/", "#", "?", "@", "-", "%", "é", "\u202e", "0", "x"]


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_messages__accepted_only_if_the_grammar_accepts_them(data):
    """Soundness beyond the vectors: insert, delete or repeat characters anywhere in a valid
    message; whatever the gateway's parser accepts, EIP-4361's ABNF accepts with equal fields."""
    text = POSITIVE[data.draw(st.sampled_from(sorted(POSITIVE)))]["message"]
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        kind = data.draw(st.sampled_from(["insert", "delete", "repeat"]))
        if kind == "insert":
            text = text[:at] + data.draw(st.sampled_from(MUTATIONS)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + 1:]
        else:
            text = text[:at] + text[at:at + 8] + text[at:]
    try:
        ours = parse_message(text)
    except BadRequest:
        return
    assert siwe.SiweMessage.from_message(text, abnf=True) == ours
