"""Input parsing by the JSON-RPC and Ethereum execution-apis rules: strict hex quantities, UTF-8
only, objects with exactly the known keys. Each malformed input is refused with 400 before any
upstream is called; each well-formed variant is forwarded (asserted at the recording upstream,
by the call's own id)."""

import json

import pytest
import requests

from .chain import LEDGER_ADDRESS, SENDER
from .conftest import rpc
from .refusals import forwarded_since, mark

JSON = {"Content-Type": "application/json"}
HASH = "0x" + "ab" * 32

BAD_BLOCK_NUMBERS = [
    "0x7_cf",  # Python's int(s, 16) takes underscores
    "0x7cf ",  # ... and surrounding spaces
    " 0x7cf",
    "0x7cf\n",
    "0x07cf",  # leading zeros
    "0X7cf",
    "0x7CF",  # quantities are lower-case
    "0x",
    "0x-1",
    "0x+1",
    "0x７",  # a full-width digit: int() takes it too
    "7cf",
    "0x" + "f" * 17,  # beyond 64 bits
    "Latest",
    2031,
    None,
    True,
]


@pytest.mark.parametrize("value", BAD_BLOCK_NUMBERS, ids=repr)
@pytest.mark.parametrize("key", ["fromBlock", "toBlock"])
def test_get_logs__bad_block_number__400_not_forwarded(sigv4_proxy, signed_upstream, key, value):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, "eth_getLogs", [{key: value}], request_id=71)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602
    assert response.json()["id"] == 71
    assert forwarded_since(signed_upstream, since) == []


@pytest.mark.parametrize(
    "log_filter",
    [
        {"FromBlock": "0x0", "toBlock": "0x1"},  # read as a one-block query by a strict node,
        {"fromBlock": "0x0", "ToBlock": "0x1"},  # as unbounded by a case-insensitive one
        {"fromblock": "0x0"},
        {"fromBlock ": "0x0"},
        {"fromBlock": "0x0", "toBlock": "0x1", "limit": 10},
        {"Address": LEDGER_ADDRESS},
        {"address": LEDGER_ADDRESS[:-2]},
        {"address": [LEDGER_ADDRESS, "0x12"]},
        {"topics": [HASH, HASH, HASH, HASH, HASH]},  # five positions
        {"topics": ["0x1234"]},
        {"topics": HASH},
        {"blockHash": "0x1234"},
        # blockHash names one block: with a range as well, which would a node honour?
        {"blockHash": HASH, "fromBlock": "0x0"},
        {"blockHash": HASH, "toBlock": "latest"},
        {"blockHash": HASH, "fromBlock": "0x0", "toBlock": "0x1"},
        {"blockHash": HASH, "FromBlock": "0x0"},
    ],
    ids=repr,
)
def test_get_logs__filter_keys_or_values_not_in_spec__400_not_forwarded(
    sigv4_proxy, signed_upstream, log_filter
):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, "eth_getLogs", [log_filter])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602
    assert forwarded_since(signed_upstream, since) == []


MALFORMED_PARAMS = [
    ("eth_getBalance", [SENDER, "0x7_cf"]),
    ("eth_getBalance", [SENDER, "latest", "extra"]),
    ("eth_getBalance", [SENDER[:-1], "latest"]),
    ("eth_getBalance", ["0x" + "zz" * 20, "latest"]),
    ("eth_getBalance", {"address": SENDER, "block": "latest"}),  # by name
    ("eth_getBlockByNumber", ["0x01", False]),
    ("eth_getBlockByNumber", ["latest", "false"]),
    ("eth_getBlockByNumber", ["latest"]),
    ("eth_getBlockByHash", ["0x1234", False]),
    ("eth_call", [{"To": LEDGER_ADDRESS, "data": "0x"}, "latest"]),
    ("eth_call", [{"to": LEDGER_ADDRESS, "data": "0x123"}, "latest"]),  # odd number of digits
    ("eth_call", [{"to": LEDGER_ADDRESS, "value": "0x01"}, "latest"]),
    ("eth_call", [{"to": LEDGER_ADDRESS, "gas": 21000}, "latest"]),
    ("eth_call", [{"to": LEDGER_ADDRESS}, {"blockNumber": "0x1", "blockHash": HASH}]),
    ("eth_call", [{"to": LEDGER_ADDRESS}, "latest", {SENDER: {"balance": "0x1", "x": 1}}]),
    ("eth_estimateGas", [{"from": SENDER, "to": LEDGER_ADDRESS, "nonce": "0x 1"}]),
    ("eth_feeHistory", ["0x04", "latest", []]),
    ("eth_feeHistory", ["0x4", "latest", [50, 25]]),  # percentiles must increase
    ("eth_feeHistory", ["0x4", "latest", [101]]),
    ("eth_getTransactionCount", [SENDER, "pending "]),
    ("eth_getTransactionByHash", [HASH[:-2]]),
    ("eth_getTransactionReceipt", []),
    ("eth_chainId", ["0x1"]),
    ("eth_sendRawTransaction", ["0x02f8", "extra"]),
]


@pytest.mark.parametrize(("method", "params"), MALFORMED_PARAMS, ids=repr)
def test_params_not_in_spec__400_not_forwarded(sigv4_proxy, signed_upstream, method, params):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, method, params, request_id=72)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == -32602
    assert forwarded_since(signed_upstream, since) == []


# (method, params, what the upstream receives when it differs: eth_getLogs tags become numbers)
WELL_FORMED = [
    ("eth_getBalance", [SENDER.lower(), "0x0"], None),
    ("eth_getBalance", [SENDER, {"blockNumber": "0x1"}], None),  # EIP-1898
    ("eth_getCode", [LEDGER_ADDRESS, "earliest"], None),
    ("eth_call", [{"to": LEDGER_ADDRESS, "input": "0x", "value": "0x0"}, "latest", {}], None),
    ("eth_feeHistory", ["0x2", "latest", [25, 50.5, 75]], None),
    ("eth_getLogs", [{"fromBlock": "0x1", "toBlock": "0x2", "topics": [None, [HASH, None]]}], None),
    (
        "eth_getLogs",
        [{"address": [LEDGER_ADDRESS], "fromBlock": "earliest", "toBlock": "0x0"}],
        [{"address": [LEDGER_ADDRESS], "fromBlock": "0x0", "toBlock": "0x0"}],
    ),
]


@pytest.fixture(scope="module")
def two_blocks(anvil):
    requests.post(
        anvil.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": ["0x2"]},
        timeout=5,
    ).raise_for_status()


@pytest.mark.parametrize("index", range(len(WELL_FORMED)), ids=[repr(c[:2]) for c in WELL_FORMED])
def test_params_in_spec__forwarded_as_checked(sigv4_proxy, signed_upstream, two_blocks, index):
    method, params, forwarded = WELL_FORMED[index]
    request_id = f"well-formed-{index}"
    response = rpc(sigv4_proxy.url, method, params, request_id=request_id)
    assert response.status_code == 200, response.text
    assert "result" in response.json(), response.text
    [call] = [c for r in signed_upstream.requests for c in r["calls"] if c.get("id") == request_id]
    assert call == {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": method,
        "params": forwarded or params,
    }


CALL = {"jsonrpc": "2.0", "id": 73, "method": "eth_chainId", "params": []}
TEXT = json.dumps(CALL)

NOT_UTF8 = {
    "utf-16-le": TEXT.encode("utf-16-le"),
    "utf-16-be": TEXT.encode("utf-16-be"),
    "utf-16-bom": TEXT.encode("utf-16"),
    "utf-32-le": TEXT.encode("utf-32-le"),
    "utf-32-be": TEXT.encode("utf-32-be"),
    "utf-16-be-bom": b"\xfe\xff" + TEXT.encode("utf-16-be"),
    "utf-32-be-bom": b"\x00\x00\xfe\xff" + TEXT.encode("utf-32-be"),
    "utf-32-bom": TEXT.encode("utf-32"),
    "utf-8-bom": b"\xef\xbb\xbf" + TEXT.encode(),
    "latin-1": TEXT.replace("eth_chainId", "eth_chainId\u00e9").encode("latin-1"),
    "overlong-utf-8": TEXT.encode().replace(b'"2.0"', b'"2\xc0\xae0"'),
    "number-beyond-double": TEXT.replace("[]", "[1e400]").encode(),
}


@pytest.mark.parametrize("body", NOT_UTF8.values(), ids=NOT_UTF8)
def test_body_not_utf8_json__400_not_forwarded(sigv4_proxy, signed_upstream, body):
    since = mark(signed_upstream)
    response = requests.post(sigv4_proxy.url, data=body, headers=JSON, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700
    assert forwarded_since(signed_upstream, since) == []


@pytest.mark.parametrize("charset", ["utf-16", "UTF-32", "latin-1"])
def test_content_type_other_charset__415_not_forwarded(sigv4_proxy, signed_upstream, charset):
    since = mark(signed_upstream)
    response = requests.post(
        sigv4_proxy.url,
        data=TEXT.encode(charset),
        headers={"Content-Type": f"application/json; charset={charset}"},
        timeout=10,
    )
    assert response.status_code == 415
    assert forwarded_since(signed_upstream, since) == []


def test_content_type_charset_utf8__forwarded(sigv4_proxy, signed_upstream):
    response = requests.post(
        sigv4_proxy.url,
        data=TEXT.encode(),
        headers={"Content-Type": "application/json; charset=UTF-8"},
        timeout=10,
    )
    assert response.status_code == 200
    assert 73 in signed_upstream.ids()


def test_batch_with_a_repeated_id__400_not_forwarded(sigv4_proxy, signed_upstream):
    since = mark(signed_upstream)
    batch = [CALL, {**CALL, "method": "eth_blockNumber"}]
    response = requests.post(sigv4_proxy.url, json=batch, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600
    assert forwarded_since(signed_upstream, since) == []
