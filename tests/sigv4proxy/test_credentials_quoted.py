"""A provider's JSON-RPC answer (HTTP 200) quoting a credential of the request it got never reaches
the client, however the JSON spells it: as is, with `+` as `\\u002B` (.NET's default JSON
encoder; session tokens are base64 with `+` and `/`), or every character escaped. A client's
parser reads all of them back to the credential, so the proxy must too. Single calls and
batches; each test asserts the provider was called with the client's ids, signed, and that
nothing of any credential came back or reached the logs."""

import json

import pytest
import requests

from .chain import CHAIN_ID
from .conftest import AWS_ENV, base_settings, rpc
from .health import metric
from .leaks import (
    QUOTED,
    SESSION_CREDENTIALS,
    SESSION_TOKEN,
    SPELLINGS,
    assert_nothing_quoted,
    error_answer,
    secrets_of,
)
from .processes import ProxyProcess
from .refusals import PROXY_CHECK_ID
from .upstream_server import TestUpstream

UNAVAILABLE = {"code": -32002, "message": "no upstream available"}
# Single calls: id -> (what is quoted, spelling).
SINGLE = {
    7000 + 10 * q + s: (quoted, spelling)
    for q, quoted in enumerate(QUOTED)
    for s, spelling in enumerate(SPELLINGS)
}
BATCH_BASE = 7500  # batches: ids BATCH_BASE + 10 * spelling index + 0 (eth_chainId) / 1 (quoted)


def _provider(headers: dict, call) -> tuple[int, bytes]:
    if isinstance(call, list):  # eth_chainId answered well; the other call's error quotes
        spelling = SPELLINGS[(call[0]["id"] - BATCH_BASE) // 10]
        parts = []
        for c in call:
            if c["method"] == "eth_chainId":
                parts.append(json.dumps({"jsonrpc": "2.0", "id": c["id"], "result": hex(CHAIN_ID)}))
            else:
                message = QUOTED["session-token"](headers)
                parts.append(error_answer(c["id"], message, spelling).decode())
        return 200, ("[" + ",".join(parts) + "]").encode()
    if call.get("id") == PROXY_CHECK_ID:  # the health probe's eth_blockNumber
        return 200, json.dumps({"jsonrpc": "2.0", "id": PROXY_CHECK_ID, "result": "0x10"}).encode()
    quoted, spelling = SINGLE[call["id"]]
    return 200, error_answer(call["id"], QUOTED[quoted](headers), spelling)


@pytest.fixture(scope="module")
def provider():
    server = TestUpstream(
        sigv4=SESSION_CREDENTIALS, mode="reply", reply=_provider, chain_id=CHAIN_ID
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(provider, deployments_file):
    started = ProxyProcess(
        base_settings(
            deployments_file, upstreams=[{"url": provider.url, "name": "amb", "auth": "sigv4"}]
        ),
        extra_env={**AWS_ENV, "AWS_SESSION_TOKEN": SESSION_TOKEN},
    )
    yield started
    started.stop()
    started.cleanup()


def _secrets_of(provider, request_id) -> list[str]:
    [request] = [r for r in provider.requests if request_id in r["ids"]]  # called ...
    return secrets_of(request["headers"])


def test_spellings__a_json_parser_reads_back_the_credential():
    """The premise: each spelling is the credential to a client."""
    for spelling in SPELLINGS:
        body = error_answer(1, SESSION_TOKEN, spelling)
        assert json.loads(body)["error"]["message"] == SESSION_TOKEN
    assert SESSION_TOKEN.encode() not in error_answer(1, SESSION_TOKEN, "dotnet")


@pytest.mark.parametrize("request_id", SINGLE, ids=[f"{q}-{s}" for q, s in SINGLE.values()])
def test_single_call__answer_quoting_a_credential__withheld(proxy, provider, request_id):
    response = rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"], request_id)
    secrets = _secrets_of(provider, request_id)
    assert provider.rejected == []  # ... and signed correctly
    assert response.status_code == 502
    assert response.json() == {"jsonrpc": "2.0", "id": request_id, "error": UNAVAILABLE}
    assert_nothing_quoted([response.text, proxy.logs()], secrets)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_batch__one_answer_quoting_a_credential__whole_batch_withheld(proxy, provider, spelling):
    first = BATCH_BASE + 10 * SPELLINGS.index(spelling)
    batch = [
        {"jsonrpc": "2.0", "id": first, "method": "eth_chainId", "params": []},
        {
            "jsonrpc": "2.0",
            "id": first + 1,
            "method": "eth_getBalance",
            "params": ["0x" + "00" * 20, "latest"],
        },
    ]
    response = requests.post(proxy.url, json=batch, timeout=10)
    [request] = [r for r in provider.requests if first in r["ids"]]
    assert request["ids"] == [first, first + 1]  # forwarded whole
    assert response.status_code == 502
    # Our own error for each call, under its id: nothing of the upstream's answers.
    assert response.json() == [
        {"jsonrpc": "2.0", "id": first, "error": UNAVAILABLE},
        {"jsonrpc": "2.0", "id": first + 1, "error": UNAVAILABLE},
    ]
    assert_nothing_quoted([response.text, proxy.logs()], _secrets_of(provider, first))


def test_metrics__credential_in_reply_counted(proxy, provider):
    rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"], next(iter(SINGLE)))
    attempts = "pulseledger_proxy_upstream_attempts_total"
    assert metric(proxy.url, attempts, upstream="amb", outcome="credential_in_reply") >= 1
