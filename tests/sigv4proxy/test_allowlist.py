"""Which JSON-RPC calls pass: allow-listed reads, bounded eth_getLogs, raw transactions only to our
contracts on our chain. A refused call never reaches the upstream (counted at the test upstream)."""

import time

import pytest
import requests
from eth_account import Account
from eth_utils import to_checksum_address

from .chain import (
    CHAIN_ID,
    EXTRA_ALLOWED_ADDRESS,
    LEDGER_ADDRESS,
    NOT_ALLOWED_ADDRESS,
    SENDER,
    SENDER_KEY,
)
from .conftest import MAX_LOG_RANGE, rpc
from .refusals import forwarded_since, mark

DENIED_METHODS = [
    "eth_accounts",
    "eth_sendTransaction",
    "eth_sign",
    "personal_sign",
    "eth_signTypedData_v4",
    "personal_unlockAccount",
    "anvil_setBalance",
    "anvil_impersonateAccount",
    "hardhat_setBalance",
    "evm_mine",
    "debug_traceTransaction",
    "admin_addPeer",
    "txpool_content",
    "eth_newFilter",
    "eth_subscribe",
    "ETH_CHAINID",
    "eth_chainId ",
    "",
]


@pytest.mark.parametrize("method", DENIED_METHODS)
def test_denied_method__403__never_forwarded(sigv4_proxy, signed_upstream, method):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, method, [], request_id=7)
    assert response.status_code == 403
    body = response.json()
    assert body["id"] == 7
    assert body["error"]["code"] == -32601
    assert forwarded_since(signed_upstream, since) == []
    assert method not in signed_upstream.methods()


ALLOWED_READS = [
    ("eth_chainId", []),
    ("net_version", []),
    ("eth_blockNumber", []),
    ("eth_getBalance", [SENDER, "latest"]),
    ("eth_getCode", [LEDGER_ADDRESS, "latest"]),
    ("eth_getTransactionCount", [SENDER, "pending"]),
    ("eth_gasPrice", []),
    ("eth_maxPriorityFeePerGas", []),
    ("eth_feeHistory", ["0x1", "latest", []]),
    ("eth_getBlockByNumber", ["latest", False]),
    ("eth_call", [{"to": LEDGER_ADDRESS, "data": "0x"}, "latest"]),
    ("eth_estimateGas", [{"from": SENDER, "to": LEDGER_ADDRESS, "value": "0x1"}]),
    ("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(MAX_LOG_RANGE - 1)}]),
    ("eth_getLogs", [{"blockHash": "0x" + "00" * 32}]),
]


@pytest.mark.parametrize(("method", "params"), ALLOWED_READS)
def test_allowed_read__forwarded__answered(sigv4_proxy, signed_upstream, method, params):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, method, params)
    assert response.status_code == 200
    assert "jsonrpc" in response.json()
    assert [method] in [r["methods"] for r in signed_upstream.requests[since:]]


@pytest.mark.parametrize(
    "log_filter",
    [
        {"fromBlock": "0x0", "toBlock": hex(MAX_LOG_RANGE)},  # one block too many
        {"fromBlock": "0x5", "toBlock": "0x1000"},
        {"fromBlock": "0x0", "toBlock": "0x" + "f" * 16},  # the largest block number there is
    ],
)
def test_get_logs__range_too_large__refused(sigv4_proxy, signed_upstream, log_filter):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, "eth_getLogs", [log_filter])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32005
    assert forwarded_since(signed_upstream, since) == []


@pytest.mark.parametrize(
    "params",
    [
        [],
        [{"fromBlock": "latest"}, {}],
        [{"fromBlock": "yesterday"}],
        [{"fromBlock": 5}],
        [{"blockHash": "0x" + "00" * 32, "fromBlock": "0x0"}],
        [{"fromBlock": "0x0", "toBlock": "0x" + "f" * 17}],  # beyond 64 bits
    ],
)
def test_get_logs__malformed_filter__refused(sigv4_proxy, signed_upstream, params):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, "eth_getLogs", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32602
    assert forwarded_since(signed_upstream, since) == []


def test_get_logs__tags__resolved_against_the_current_head(sigv4_proxy, signed_upstream, anvil):
    requests.post(
        anvil.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": ["0x20"]},
        timeout=5,
    ).raise_for_status()
    head = int(rpc(sigv4_proxy.url, "eth_blockNumber").json()["result"], 16)
    assert head >= 2 * MAX_LOG_RANGE
    recent = rpc(sigv4_proxy.url, "eth_getLogs", [{"fromBlock": hex(head - MAX_LOG_RANGE + 1)}])
    assert recent.status_code == 200
    since = mark(signed_upstream)
    whole_chain = rpc(
        sigv4_proxy.url, "eth_getLogs", [{"fromBlock": "earliest", "toBlock": "latest"}]
    )
    assert whole_chain.status_code == 400
    assert whole_chain.json()["error"]["code"] == -32005
    assert forwarded_since(signed_upstream, since) == []


def _signed(tx: dict, key: str = SENDER_KEY) -> str:
    return "0x" + Account.sign_transaction(tx, key).raw_transaction.hex()


def _transfer(to, nonce=0, chain_id=CHAIN_ID, legacy=False) -> dict:
    tx = {
        "to": to_checksum_address(to),
        "value": 1,
        "gas": 21_000,
        "nonce": nonce,
        "chainId": chain_id,
    }
    if legacy:
        tx["gasPrice"] = 2_000_000_000
    else:
        tx.update(maxFeePerGas=2_000_000_000, maxPriorityFeePerGas=1_000_000_000)
    if chain_id is None:
        del tx["chainId"]
    return tx


def _receipt(url: str, tx_hash: str) -> dict:
    for _ in range(100):
        receipt = rpc(url, "eth_getTransactionReceipt", [tx_hash]).json()["result"]
        if receipt:
            return receipt
        time.sleep(0.05)
    raise AssertionError("transaction never mined")


@pytest.mark.parametrize(
    ("to", "legacy"),
    [(LEDGER_ADDRESS, False), (EXTRA_ALLOWED_ADDRESS, True)],
    ids=["deployments-file", "setting"],
)
def test_raw_transaction__to_allowed_contract__mined(sigv4_proxy, to, legacy):
    before = int(rpc(sigv4_proxy.url, "eth_getBalance", [to, "latest"]).json()["result"], 16)
    nonce = int(
        rpc(sigv4_proxy.url, "eth_getTransactionCount", [SENDER, "pending"]).json()["result"], 16
    )
    response = rpc(
        sigv4_proxy.url, "eth_sendRawTransaction", [_signed(_transfer(to, nonce, legacy=legacy))]
    )
    assert response.status_code == 200, response.text
    receipt = _receipt(sigv4_proxy.url, response.json()["result"])
    assert int(receipt["status"], 16) == 1
    after = int(rpc(sigv4_proxy.url, "eth_getBalance", [to, "latest"]).json()["result"], 16)
    assert after == before + 1


REFUSED_TRANSACTIONS = {
    "other-recipient": (_signed(_transfer(NOT_ALLOWED_ADDRESS)), 403, -32003),
    "other-chain": (_signed(_transfer(LEDGER_ADDRESS, chain_id=1)), 403, -32003),
    "other-chain-legacy": (
        _signed(_transfer(LEDGER_ADDRESS, chain_id=1, legacy=True)),
        403,
        -32003,
    ),
    "no-chain-id-legacy": (
        _signed(_transfer(LEDGER_ADDRESS, chain_id=None, legacy=True)),
        403,
        -32003,
    ),
    "contract-creation": (
        _signed({**_transfer(LEDGER_ADDRESS), "to": b"", "data": "0x6000", "gas": 100_000}),
        403,
        -32003,
    ),
    "blob-type": ("0x03" + "c0", 403, -32003),
    "set-code-type": ("0x04" + "c0", 403, -32003),
    "not-hex": ("0xzz", 400, -32602),
    "empty": ("0x", 400, -32602),
    "no-prefix": ("02f8", 400, -32602),
    "truncated": (_signed(_transfer(LEDGER_ADDRESS))[:40], 400, -32602),
    "not-a-string": (12345, 400, -32602),
}


@pytest.mark.parametrize(
    ("raw", "status", "code"), REFUSED_TRANSACTIONS.values(), ids=REFUSED_TRANSACTIONS
)
def test_raw_transaction__refused__never_forwarded(sigv4_proxy, signed_upstream, raw, status, code):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, "eth_sendRawTransaction", [raw])
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert forwarded_since(signed_upstream, since) == []
