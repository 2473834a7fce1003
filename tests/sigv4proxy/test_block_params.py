"""Every method that takes a block (number, tag, EIP-1898 object) or another quantity gets the same
strict parsing as eth_getLogs: each one is allow-listed here and first shown to be forwarded
with a well-formed value (so a refusal below is about the value, not the call), then refused
with 400 / -32602 and never forwarded for each malformed one. Filter-taking methods that keep
state on one node (eth_newFilter and the like) cannot be allow-listed at all (test_config.py)."""

import pytest

from .chain import LEDGER_ADDRESS, SENDER
from .conftest import base_settings, rpc
from .processes import ProxyProcess
from .refusals import forwarded_since, mark
from .test_inputs import BAD_BLOCK_NUMBERS
from .upstream_server import TestUpstream

HASH = "0x" + "ab" * 32
B = object()  # where the block (or quantity) under test goes

# method -> params with B in the place of a block number or tag
BLOCK_PARAMS = {
    "eth_getBlockByNumber": [B, False],
    "eth_getBlockReceipts": [B],
    "eth_getBlockTransactionCountByNumber": [B],
    "eth_getTransactionByBlockNumberAndIndex": [B, "0x0"],
    "eth_call": [{"to": LEDGER_ADDRESS}, B],
    "eth_estimateGas": [{"from": SENDER, "to": LEDGER_ADDRESS}, B],
    "eth_feeHistory": ["0x1", B, []],
    "eth_getBalance": [SENDER, B],
    "eth_getCode": [LEDGER_ADDRESS, B],
    "eth_getTransactionCount": [SENDER, B],
    "eth_getStorageAt": [LEDGER_ADDRESS, "0x0", B],
    "eth_getProof": [LEDGER_ADDRESS, [], B],
}
# Methods whose block may also be an EIP-1898 object: the number inside is checked alike.
EIP_1898 = {
    "eth_getBlockReceipts",
    "eth_call",
    "eth_estimateGas",
    "eth_getBalance",
    "eth_getCode",
    "eth_getTransactionCount",
    "eth_getStorageAt",
    "eth_getProof",
}
# Other quantities: (method, params with B where the quantity goes)
QUANTITY_PARAMS = {
    "index": ("eth_getTransactionByBlockNumberAndIndex", ["0x1", B]),
    "block-count": ("eth_feeHistory", [B, "latest", []]),
    "call-gas": ("eth_call", [{"to": LEDGER_ADDRESS, "gas": B}, "latest"]),
    "call-value": ("eth_call", [{"to": LEDGER_ADDRESS, "value": B}, "latest"]),
    "estimate-nonce": ("eth_estimateGas", [{"from": SENDER, "nonce": B}]),
    "override-balance": ("eth_call", [{"to": LEDGER_ADDRESS}, "latest", {SENDER: {"balance": B}}]),
    "storage-slot": ("eth_getStorageAt", [LEDGER_ADDRESS, B, "latest"]),
}
# Beyond 64 bits is fine for 256-bit quantities; every other bad block number is bad for all.
BAD_QUANTITIES = [v for v in BAD_BLOCK_NUMBERS if v not in ("0x" + "f" * 17, "Latest")]


def _with(params: list, value) -> list:
    def put(item):
        if item is B:
            return value
        if isinstance(item, dict):
            return {k: put(v) for k, v in item.items()}
        if isinstance(item, list):
            return [put(v) for v in item]
        return item

    return put(params)


@pytest.fixture(scope="module")
def node(anvil):
    upstream = TestUpstream(forward_to=anvil.url)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def proxy(node, deployments_file):
    methods = sorted(set(BLOCK_PARAMS) | {m for m, _ in QUANTITY_PARAMS.values()})
    started = ProxyProcess(
        base_settings(deployments_file, upstreams=[{"url": node.url}], allowed_methods=methods)
    )
    yield started
    started.stop()
    started.cleanup()


def _forwarded(proxy, node, method, params, request_id) -> None:
    response = rpc(proxy.url, method, params, request_id)
    assert response.status_code == 200, response.text
    assert request_id in node.ids()


def _refused(proxy, node, method, params) -> None:
    since = mark(node)
    response = rpc(proxy.url, method, params, request_id=88)
    assert response.status_code == 400, (params, response.text)
    assert response.json()["error"]["code"] == -32602
    assert response.json()["id"] == 88
    assert forwarded_since(node, since) == []


@pytest.mark.parametrize("method", BLOCK_PARAMS)
def test_block_param__strict_in_every_method(proxy, node, method):
    template = BLOCK_PARAMS[method]
    _forwarded(proxy, node, method, _with(template, "0x1"), f"{method}-number")
    _forwarded(proxy, node, method, _with(template, "latest"), f"{method}-tag")
    for bad in BAD_BLOCK_NUMBERS:
        _refused(proxy, node, method, _with(template, bad))


@pytest.mark.parametrize("method", sorted(EIP_1898))
def test_eip1898_block_object__strict_in_every_method(proxy, node, method):
    template = BLOCK_PARAMS[method]
    _forwarded(proxy, node, method, _with(template, {"blockNumber": "0x1"}), f"{method}-1898")
    for bad in BAD_BLOCK_NUMBERS:
        _refused(proxy, node, method, _with(template, {"blockNumber": bad}))
    for bad_object in (
        {"BlockNumber": "0x1"},  # keys are case-sensitive
        {"blockNumber": "0x1", "blockHash": HASH},  # one or the other
        {"blockHash": HASH, "requireCanonical": "true"},
        {"blockHash": HASH[:-2]},
        {},
    ):
        _refused(proxy, node, method, _with(template, bad_object))


@pytest.mark.parametrize("where", QUANTITY_PARAMS)
def test_other_quantities__strict(proxy, node, where):
    method, template = QUANTITY_PARAMS[where]
    _forwarded(proxy, node, method, _with(template, "0x1"), f"{where}-ok")
    for bad in BAD_QUANTITIES:
        _refused(proxy, node, method, _with(template, bad))
