"""Upstream answers never reach a client as they are: only a JSON-RPC answer to the calls sent
passes (rebuilt to its jsonrpc, id, result or error code, message and data); any other status,
body, or anything quoting a credential of the outgoing request becomes the proxy's own error.
Every test asserts the upstream was called (the client's id reached it) and what came back."""

import json

import pytest
import requests

from .chain import CHAIN_ID
from .conftest import AWS_ENV, TEST_CREDENTIALS, base_settings, rpc
from .health import upstreams, wait_for_upstreams
from .leaks import SESSION_CREDENTIALS, SESSION_TOKEN
from .processes import ProxyProcess
from .refusals import PROXY_CHECK_ID
from .upstream_server import TestUpstream


def _aws_incomplete_signature(headers: dict, call: dict) -> tuple[int, bytes]:
    """What AWS answers to a request it cannot authenticate: a 400 quoting the Authorization
    header (signature, access key id) and here also the session token and the date. The proxy's
    own health checks are answered, so the upstream stays healthy and first in line."""
    if call.get("id") == PROXY_CHECK_ID:
        return 200, json.dumps({"jsonrpc": "2.0", "id": call["id"], "result": "0x10"}).encode()
    quoted = (
        f"'{headers.get('Authorization')}' Authorization header requires 'Credential' parameter. "
        f"X-Amz-Security-Token={headers.get('X-Amz-Security-Token')} "
        f"X-Amz-Date={headers.get('X-Amz-Date')}"
    )
    return 400, json.dumps({"message": quoted}).encode()


def _signature_of(request: dict) -> str:
    return request["headers"]["Authorization"].rsplit("Signature=", 1)[1]


def test_aws_400_quoting_the_signed_request__502_nothing_of_it_returned(start_proxy):
    leaky = TestUpstream(
        sigv4=SESSION_CREDENTIALS, mode="reply", reply=_aws_incomplete_signature, chain_id=CHAIN_ID
    )
    try:
        proxy = start_proxy(
            upstreams=[{"url": leaky.url, "name": "amb", "auth": "sigv4"}],
            extra_env={**AWS_ENV, "AWS_SESSION_TOKEN": SESSION_TOKEN},
        )
        response = rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"], 5000)
        assert response.status_code == 502
        assert response.json() == {
            "jsonrpc": "2.0",
            "id": 5000,
            "error": {"code": -32002, "message": "no upstream available"},
        }
        [request] = [r for r in leaky.requests if 5000 in r["ids"]]  # it was called, signed
        assert leaky.rejected == []
        metrics = requests.get(proxy.url + "metrics", timeout=5).text
        proxy.stop()
        for text in (response.text, proxy.logs(), metrics):
            assert _signature_of(request) not in text
            assert TEST_CREDENTIALS.access_key not in text
            assert SESSION_TOKEN not in text
            assert "Authorization" not in text
    finally:
        leaky.stop()


def test_aws_400__fails_over__client_gets_the_next_upstreams_answer(start_proxy, anvil):
    leaky = TestUpstream(
        sigv4=SESSION_CREDENTIALS, mode="reply", reply=_aws_incomplete_signature, chain_id=CHAIN_ID
    )
    healthy = TestUpstream(forward_to=anvil.url)
    try:
        proxy = start_proxy(
            upstreams=[
                {"url": leaky.url, "name": "amb", "auth": "sigv4"},
                {"url": healthy.url, "name": "provider"},
            ],
            extra_env={**AWS_ENV, "AWS_SESSION_TOKEN": SESSION_TOKEN},
        )
        # Both verified by their probes first, so that the leaky one is first in line.
        wait_for_upstreams(proxy.url, {"amb": {"healthy": True}, "provider": {"healthy": True}})
        response = rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"], 5100)
        assert response.status_code == 200
        assert set(response.json()) == {"jsonrpc", "id", "result"}
        assert 5100 in leaky.ids() and 5100 in healthy.ids()
        assert SESSION_TOKEN not in response.text
        # A 400 may be about this one request: the upstream is not marked unhealthy for it.
        assert upstreams(proxy.url)["amb"]["healthy"] is True
    finally:
        leaky.stop()
        healthy.stop()


API_KEY = "pk_live_0123456789abcdefABCDEF"
BEARER = "bearer-token-9876543210fedcba"
URL_KEY = "0123456789abcdef0123456789abcdef"


def _jsonrpc_error(call: dict, message: str) -> tuple[int, bytes]:
    error = {"code": -32000, "message": message}
    return 200, json.dumps({"jsonrpc": "2.0", "id": call["id"], "error": error}).encode()


# By the call's id: what the provider answers (it sees the request's headers).
ANSWERS = {
    6001: lambda h, c: _jsonrpc_error(c, f"key {h.get('X-Api-Key')} is over quota"),
    6002: lambda h, c: _jsonrpc_error(c, f"bad token in {h.get('Authorization')}"),
    6003: lambda h, c: _jsonrpc_error(c, f"unknown project {URL_KEY}"),
    6004: lambda h, c: _jsonrpc_error(c, f"POST /v3\\/{URL_KEY}"),  # as JSON writers escape /
    6101: lambda h, c: (
        200,
        b"<html><body>Provider dashboard: POST / from 127.0.0.1</body></html>",
    ),
    6102: lambda h, c: (200, b""),
    6103: lambda h, c: (200, b'{"status": "ok"}'),
    6104: lambda h, c: (200, b'{"jsonrpc": "2.0", "id": 999999, "result": "0x1"}'),
    6105: lambda h, c: (200, b'{"jsonrpc": "2.0", "id": "6105", "result": "0x1"}'),
    6106: lambda h, c: (
        200,
        b'{"jsonrpc":"2.0","id":6106,"result":"0x1","error":{"code":1,"message":"x"}}',
    ),
    6107: lambda h, c: (200, b'{"jsonrpc": "2.0", "id": 6107, "error": {"message": "x"}}'),
    6108: lambda h, c: (200, b'[{"jsonrpc": "2.0", "id": 6108, "result": "0x1"}]'),
    6109: lambda h, c: (
        400,
        b'{"jsonrpc":"2.0","id":6109,"error":{"code":-32602,"message":"bad params"}}',
    ),
    6110: lambda h, c: (404, b"Cannot POST /v3/"),
    6111: lambda h, c: (413, b"request entity too large"),
    6112: lambda h, c: (500, b"Traceback (most recent call last): ..."),
    6201: lambda h, c: (
        200,
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 6201,
                "error": {"code": 3, "message": "reverted", "data": "0x08c379a0", "stack": "at"},
                "trace": {"node": "geth/v1.14"},
            }
        ).encode(),
    ),
    6202: lambda h, c: (
        200,
        json.dumps({"jsonrpc": "2.0", "id": 6202, "result": "0x2a", "debug": [1, 2]}).encode(),
    ),
}


@pytest.fixture(scope="module")
def provider():
    """A provider taking a key in a header, a bearer token, and a key in its URL path."""
    server = TestUpstream(
        mode="reply", reply=lambda h, c: ANSWERS[c["id"]](h, c), chain_id=CHAIN_ID
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def provider_proxy(provider, deployments_file):
    proxy = ProxyProcess(
        base_settings(
            deployments_file,
            upstreams=[
                {
                    "url": provider.url.rstrip("/") + f"/v3/{URL_KEY}",
                    "name": "provider",
                    "auth": "header",
                    "headers": {"X-Api-Key": API_KEY, "Authorization": f"Bearer {BEARER}"},
                }
            ],
        )
    )
    yield proxy
    proxy.stop()
    proxy.cleanup()


def _balance(proxy, request_id: int) -> requests.Response:
    return rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"], request_id)


@pytest.mark.parametrize(
    "request_id", [6001, 6002, 6003, 6004], ids=["api-key", "bearer", "url-key", "url-key-escaped"]
)
def test_jsonrpc_error_quoting_a_credential__withheld(provider_proxy, provider, request_id):
    response = _balance(provider_proxy, request_id)
    assert request_id in provider.ids()
    assert response.status_code == 502
    assert response.json()["error"] == {"code": -32002, "message": "no upstream available"}
    for secret in (API_KEY, BEARER, URL_KEY):
        assert secret not in response.text
        assert secret not in provider_proxy.logs()


NOT_PASSED = {
    "html-200": 6101,
    "empty-200": 6102,
    "json-not-jsonrpc": 6103,
    "wrong-id": 6104,
    "string-id-for-int-id": 6105,
    "result-and-error": 6106,
    "error-without-code": 6107,
    "a-batch-for-one-call": 6108,
    "400-with-jsonrpc-error": 6109,
    "404": 6110,
    "413": 6111,
    "500": 6112,
}


@pytest.mark.parametrize("request_id", NOT_PASSED.values(), ids=NOT_PASSED)
def test_answer_not_jsonrpc_to_the_call__our_502_not_the_body(provider_proxy, provider, request_id):
    response = _balance(provider_proxy, request_id)
    assert request_id in provider.ids()
    assert response.status_code == 502
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": -32002, "message": "no upstream available"},
    }


def test_error_and_result_objects__rebuilt_from_their_known_members(provider_proxy, provider):
    reverted = _balance(provider_proxy, 6201)
    assert reverted.status_code == 200
    assert reverted.json() == {
        "jsonrpc": "2.0",
        "id": 6201,
        "error": {"code": 3, "message": "reverted", "data": "0x08c379a0"},
    }
    answered = _balance(provider_proxy, 6202)
    assert answered.json() == {"jsonrpc": "2.0", "id": 6202, "result": "0x2a"}
    assert {6201, 6202} <= set(provider.ids())
