"""CORS: the dapp's configured origin gets preflights and readable answers; any other origin gets
neither, and its POSTs are refused before reaching the upstream."""

import pytest
import requests

from .conftest import ALLOWED_ORIGIN, rpc
from .refusals import forwarded_since, mark


def _preflight(url, origin, method="POST", headers="content-type"):
    return requests.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
        timeout=5,
    )


def test_preflight__allowed_origin__204_with_cors_headers(sigv4_proxy):
    response = _preflight(sigv4_proxy.url, ALLOWED_ORIGIN)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert response.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example", "POST", "content-type"),
        (ALLOWED_ORIGIN + ".evil.example", "POST", "content-type"),
        ("null", "POST", "content-type"),
        (ALLOWED_ORIGIN, "PUT", "content-type"),
        (ALLOWED_ORIGIN, "POST", "content-type, authorization"),
    ],
)
def test_preflight__other_origin_or_request__403_without_cors_headers(
    sigv4_proxy, origin, method, headers
):
    response = _preflight(sigv4_proxy.url, origin, method, headers)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_post__allowed_origin__answer_readable(sigv4_proxy):
    response = rpc(sigv4_proxy.url, "eth_chainId", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


def test_post__allowed_origin__refusals_readable_too(sigv4_proxy):
    response = rpc(sigv4_proxy.url, "eth_accounts", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status_code == 403
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


def test_post__other_origin__refused_and_not_forwarded(sigv4_proxy, signed_upstream):
    since = mark(signed_upstream)
    response = rpc(sigv4_proxy.url, "eth_chainId", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    assert forwarded_since(signed_upstream, since) == []


def test_post__no_origin__server_clients_served(sigv4_proxy):
    response = rpc(sigv4_proxy.url, "eth_chainId")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
