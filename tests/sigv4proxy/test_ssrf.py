"""The proxy dials only its configured upstreams: nothing in the request (Host, forwarding headers,
an absolute request target, the path) and no redirect from an upstream can send it elsewhere.
A second loopback server plays the attacker's target and must never be reached."""

import socket

import pytest
import requests

from .chain import CHAIN_ID
from .conftest import rpc
from .refusals import forwarded_since, mark
from .upstream_server import TestUpstream


@pytest.fixture(scope="module")
def target():
    server = TestUpstream(mode="status", status=200)
    yield server
    server.stop()


def _target_host(server) -> str:
    return server.url.removeprefix("http://").rstrip("/")


@pytest.mark.parametrize(
    "header",
    [
        "Host",
        "X-Forwarded-Host",
        "X-Forwarded-Server",
        "X-Original-URL",
        "X-Rewrite-URL",
        "Forwarded",
    ],
)
def test_request_headers__cannot_redirect_upstream(sigv4_proxy, target, header):
    value = _target_host(target)
    value = f"host={value}" if header == "Forwarded" else value
    value = target.url if header in ("X-Original-URL", "X-Rewrite-URL") else value
    response = rpc(sigv4_proxy.url, "eth_chainId", headers={header: value})
    assert response.status_code == 200
    assert int(response.json()["result"], 16) == CHAIN_ID  # anvil answered, through the upstream
    assert target.requests == []


def _raw_http(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_absolute_request_target__still_goes_to_the_configured_upstream(sigv4_proxy, target):
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    request = (
        f"POST {target.url} HTTP/1.1\r\nHost: {_target_host(target)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    reply = _raw_http(sigv4_proxy.port, request)
    assert reply.startswith(b"HTTP/1.1 200")
    assert b'"result":"0x7a69"' in reply
    assert target.requests == []


@pytest.mark.parametrize("path", ["//{host}/", "/http://{host}/", "/{host}"])
def test_path_naming_another_host__404(sigv4_proxy, target, path):
    url = sigv4_proxy.url.rstrip("/") + path.format(host=_target_host(target))
    response = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=5
    )
    assert response.status_code == 404
    assert target.requests == []


def test_connect_method__refused(sigv4_proxy, target):
    request = f"CONNECT {_target_host(target)} HTTP/1.1\r\nHost: {_target_host(target)}\r\nConnection: close\r\n\r\n"
    reply = _raw_http(sigv4_proxy.port, request.encode())
    assert reply.split(b" ")[1][:1] == b"4"
    assert target.requests == []


def _status_and_headers(reply: bytes) -> tuple[int, bytes]:
    head = reply.split(b"\r\n\r\n", 1)[0]
    return int(head.split(b" ")[1]), head.lower()


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("POST http://{host}// HTTP/1.1", 404),
        ("POST http://{host} HTTP/1.1", 200),  # the absolute form of `POST /`: served as that
        ("POST // HTTP/1.1", 404),
        ("POST /// HTTP/1.1", 404),
        ("POST //{host}/ HTTP/1.1", 404),
        ("GET http://{host}//healthz HTTP/1.1", 404),
        ("GET //healthz HTTP/1.1", 404),
        ("GET /healthz/ HTTP/1.1", 404),
        ("GET http://{host}//metrics HTTP/1.1", 404),
    ],
)
def test_request_line_and_host__never_a_redirect__paths_exact(
    sigv4_proxy, signed_upstream, target, request_line, status
):
    """Werkzeug answers `//` with a 308 to the same path on the request's Host: a redirect to
    wherever the client's Host header says; and its request.path reads `//` as `/`. No response
    of the proxy carries a Location, and only the exact paths are served."""
    host = _target_host(target)
    since = mark(signed_upstream)
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    request = (
        f"{request_line.format(host=host)}\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    answered, head = _status_and_headers(_raw_http(sigv4_proxy.port, request))
    assert answered == status
    assert b"location:" not in head
    assert target.requests == []
    forwarded = [r["ids"] for r in forwarded_since(signed_upstream, since)]
    assert forwarded == ([[1]] if status == 200 else [])  # to the configured upstream only


@pytest.mark.parametrize("path", ["nope", "/", "/healthz", "rpc/"])
def test_foreign_origin__refused_before_routing(sigv4_proxy, signed_upstream, path):
    since = mark(signed_upstream)
    response = requests.post(
        sigv4_proxy.url + path,
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        headers={"Origin": "https://evil.example", "Host": _target_host(signed_upstream)},
        timeout=5,
        allow_redirects=False,
    )
    assert response.status_code == 403
    assert "Location" not in response.headers
    assert forwarded_since(signed_upstream, since) == []


@pytest.mark.parametrize(
    "request_line",
    ["POST http://{host}// HTTP/1.1", "POST http://{host}/ HTTP/1.1", "POST //{host}/ HTTP/1.1"],
)
def test_absolute_request_line__foreign_host_and_origin__403_before_anything(
    sigv4_proxy, signed_upstream, target, request_line
):
    """The issue's attack: an absolute URL and a foreign Host once got a 308 to that host before
    the origin and rate-limit checks. The origin check comes first, whatever the request line."""
    host = _target_host(target)
    since = mark(signed_upstream)
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    request = (
        f"{request_line.format(host=host)}\r\nHost: {host}\r\nOrigin: https://evil.example\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    status, head = _status_and_headers(_raw_http(sigv4_proxy.port, request))
    assert status == 403
    assert b"location:" not in head
    assert forwarded_since(signed_upstream, since) == []
    assert target.requests == []
