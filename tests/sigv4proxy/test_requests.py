"""Malformed, oversized and otherwise unacceptable requests: refused with the right HTTP status and
a JSON-RPC error body, and never forwarded."""

import json

import pytest
import requests

from .conftest import rpc
from .refusals import forwarded_since, mark

JSON = {"Content-Type": "application/json"}

MALFORMED = {
    "truncated": (b'{"jsonrpc":"2.0","id":1,', 400, -32700),
    "empty": (b"", 400, -32700),
    "not-utf8": (b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId\xff"}', 400, -32700),
    "nan": (b'{"jsonrpc":"2.0","id":NaN,"method":"eth_chainId"}', 400, -32700),
    "deep-nesting": (b"[" * 100_000 + b"]" * 100_000, 413, -32005),
    "duplicate-method": (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","method":"eth_accounts"}',
        400,
        -32600,
    ),
    "duplicate-nested": (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x01","to":"0x02"},"latest"]}',
        400,
        -32600,
    ),
    "string": (b'"eth_chainId"', 400, -32600),
    "no-version": (b'{"id":1,"method":"eth_chainId"}', 400, -32600),
    "old-version": (b'{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}', 400, -32600),
    "notification": (b'{"jsonrpc":"2.0","method":"eth_chainId"}', 400, -32600),
    "method-not-string": (b'{"jsonrpc":"2.0","id":1,"method":["eth_chainId"]}', 400, -32600),
    "params-scalar": (b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":1}', 400, -32600),
    "extra-member": (
        b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","url":"http://x"}',
        400,
        -32600,
    ),
}


@pytest.mark.parametrize(("body", "status", "code"), MALFORMED.values(), ids=MALFORMED)
def test_malformed__refused__never_forwarded(sigv4_proxy, signed_upstream, body, status, code):
    since = mark(signed_upstream)
    response = requests.post(sigv4_proxy.url, data=body, headers=JSON, timeout=10)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert forwarded_since(signed_upstream, since) == []


def test_oversized_body__413(sigv4_proxy, signed_upstream):
    since = mark(signed_upstream)
    padding = "0" * (200 * 1024)
    response = rpc(sigv4_proxy.url, "eth_call", [{"to": "0x" + "00" * 20, "data": "0x" + padding}])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == -32005
    assert forwarded_since(signed_upstream, since) == []


def test_oversized_chunked_body__413(sigv4_proxy, signed_upstream):
    """No Content-Length to trust: the proxy stops reading past the limit."""
    since = mark(signed_upstream)

    def chunks():
        yield b'{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0x'
        for _ in range(50):
            yield b"00" * 2048
        yield b'"},"latest"]}'

    response = requests.post(sigv4_proxy.url, data=chunks(), headers=JSON, timeout=10)
    assert response.status_code == 413
    assert forwarded_since(signed_upstream, since) == []


def test_wrong_content_type__415(sigv4_proxy, signed_upstream):
    since = mark(signed_upstream)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
    response = requests.post(
        sigv4_proxy.url, data=body, headers={"Content-Type": "text/plain"}, timeout=5
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == -32600
    assert forwarded_since(signed_upstream, since) == []


@pytest.mark.parametrize(
    ("verb", "path", "status"),
    [("GET", "", 405), ("PUT", "", 405), ("POST", "rpc", 404), ("GET", "admin", 404)],
)
def test_other_routes__json_errors(sigv4_proxy, verb, path, status):
    response = requests.request(verb, sigv4_proxy.url + path, json={}, timeout=5)
    assert response.status_code == status
    assert response.json()["error"]["code"] == -32600


def _call(method, request_id, params=None):
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}


def test_batch__allowed_calls__forwarded_whole(sigv4_proxy, signed_upstream):
    batch = [_call("eth_chainId", 1), _call("eth_blockNumber", 2)]
    response = requests.post(sigv4_proxy.url, json=batch, timeout=5)
    assert response.status_code == 200
    assert sorted(r["id"] for r in response.json()) == [1, 2]
    assert ["eth_chainId", "eth_blockNumber"] in [r["methods"] for r in signed_upstream.requests]


def test_batch__one_denied__whole_batch_refused(sigv4_proxy, signed_upstream):
    since = mark(signed_upstream)
    batch = [_call("eth_chainId", 1), _call("eth_accounts", 2), _call("eth_blockNumber", 3)]
    response = requests.post(sigv4_proxy.url, json=batch, timeout=5)
    assert response.status_code == 403
    errors = {e["id"]: e["error"]["code"] for e in response.json()}
    assert errors == {1: -32600, 2: -32601, 3: -32600}
    assert forwarded_since(signed_upstream, since) == []


@pytest.mark.parametrize("size", [0, 21])
def test_batch__empty_or_too_large__refused(sigv4_proxy, signed_upstream, size):
    since = mark(signed_upstream)
    response = requests.post(
        sigv4_proxy.url, json=[_call("eth_chainId", i) for i in range(size)], timeout=5
    )
    assert response.status_code == 400
    assert forwarded_since(signed_upstream, since) == []
