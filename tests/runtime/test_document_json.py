import json
import math

import pytest

from services.runtime import document_json

ATTESTATION = {
    "master": "12D3KooWEbWp6rjNV8VEJk4eAtMeg4G2s3T1dnDtvHPxC8pPxj4t",
    "credential": {"credential": {"v": 1, "roles": ["master"], "not_before": 1796531550},
                   "sig": "k6vPsiVsELswcKtt59jZXXSYxFUFAGeyuPCZ4F1VCaxgs0OuB2r56Ap58RpOm7ZfGKjW"},
    "body": {"device": "12D3KooWPdFwZCUyV1mhc4NmrVJn1yYekeBnCEVqgGjvdtbsnM5g",
             "readings": [[0, "1e3d7ed22036aab2d61c69e1f2d4df89"], [1, "cca5ddf60fd6f3e1"]]},
    "root_sig": "jaHDfobTjxdz2", "proof": ["a", "b"],
}


def test_a_document_reads_back_equal__and_the_standard_library_reads_it_too():
    text = document_json.dumps(ATTESTATION)
    assert isinstance(text, str)
    assert document_json.loads(text) == ATTESTATION
    assert document_json.loads(text.encode()) == ATTESTATION
    assert json.loads(text) == ATTESTATION


@pytest.mark.parametrize("value", [
    {"name": "é ü 漢", "flag": True, "none": None, "float": 0.1 + 0.2, "neg": -0.0},
    {"big": 2**80, "small": -(2**70)},  # beyond 64 bits: encoded, and read back exactly
])
def test_any_json_value_a_peer_sends_reads_back_equal(value):
    assert document_json.loads(document_json.dumps(value)) == value


def test_text_msgspec_will_not_read_is_read_as_the_standard_library_reads_it():
    """A hostile master's document reaches the aggregator through JSON that json.loads took
    (NaN, a number beyond a double): what was kept must read back, not fail a close round."""
    assert math.isnan(document_json.loads('{"x": NaN}')["x"])
    assert document_json.loads('{"x": 1e400}')["x"] == math.inf
    deep = "[" * 900 + "]" * 900  # within json.loads' reach
    assert document_json.loads(deep) == json.loads(deep)


def test_malformed_text_still_raises():
    with pytest.raises(ValueError):
        document_json.loads("{not json")
