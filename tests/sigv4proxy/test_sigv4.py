"""SigV4 mode end to end: proxy (gunicorn) → test upstream that recomputes every signature with
the known test credentials → anvil."""

import json

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from .chain import CHAIN_ID
from .conftest import AWS_ENV, TEST_CREDENTIALS, rpc


def test_signed_call__verified_upstream_and_anvil_answer(sigv4_proxy, signed_upstream):
    verified_before = signed_upstream.verified
    response = rpc(sigv4_proxy.url, "eth_chainId")
    assert response.status_code == 200
    assert int(response.json()["result"], 16) == CHAIN_ID
    assert signed_upstream.verified > verified_before
    assert signed_upstream.rejected == []


def _botocore_signed(url: str, body: bytes, secret: str = TEST_CREDENTIALS.secret_key) -> dict:
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    creds = BotoCredentials(TEST_CREDENTIALS.access_key, secret)
    SigV4Auth(creds, TEST_CREDENTIALS.service, TEST_CREDENTIALS.region).add_auth(request)
    return dict(request.headers.items())


def test_verifier__accepts_botocore_signature__rejects_tampered_body(signed_upstream):
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    headers = _botocore_signed(signed_upstream.url, body)
    assert (
        requests.post(signed_upstream.url, data=body, headers=headers, timeout=5).status_code == 200
    )

    tampered = body.replace(b"eth_chainId", b"eth_accounts")
    response = requests.post(signed_upstream.url, data=tampered, headers=headers, timeout=5)
    assert response.status_code == 403
    assert signed_upstream.rejected[-1] == "signature does not match"


def test_verifier__rejects_signature_by_another_secret(signed_upstream):
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    headers = _botocore_signed(signed_upstream.url, body, secret="not-the-secret")
    response = requests.post(signed_upstream.url, data=body, headers=headers, timeout=5)
    assert response.status_code == 403
    assert signed_upstream.rejected[-1] == "signature does not match"


def test_wrong_secret_or_unsigned__upstream_refuses__502__secret_never_echoed(
    start_proxy, signed_upstream
):
    """Two upstreams in front of the same verifier: one signed with a wrong secret, one unsigned.
    Both are refused there, so the client gets 502, and the wrong secret shows up nowhere."""
    wrong_secret = "wrong/secret/that/must/not/leak/anywhere"
    since = len(signed_upstream.rejected)
    proxy = start_proxy(
        upstreams=[
            {"url": signed_upstream.url, "name": "wrong-key", "auth": "sigv4"},
            {"url": signed_upstream.url, "name": "unsigned", "auth": "none"},
        ],
        extra_env={**AWS_ENV, "AWS_SECRET_ACCESS_KEY": wrong_secret},
    )
    response = rpc(proxy.url, "eth_blockNumber")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == -32002
    assert set(signed_upstream.rejected[since:]) == {
        "signature does not match",
        "not signed with AWS4-HMAC-SHA256",
    }
    health = requests.get(proxy.url + "healthz", timeout=5)
    metrics = requests.get(proxy.url + "metrics", timeout=5)
    proxy.stop()
    for text in (response.text, health.text, metrics.text, proxy.logs()):
        assert wrong_secret not in text
        assert TEST_CREDENTIALS.access_key not in text


def test_credentials_and_upstream_url__never_in_responses_or_logs(sigv4_proxy, signed_upstream):
    texts = [
        rpc(sigv4_proxy.url, "eth_blockNumber").text,
        rpc(sigv4_proxy.url, "eth_accounts").text,
        requests.post(
            sigv4_proxy.url, data=b"{", headers={"Content-Type": "application/json"}, timeout=5
        ).text,
        requests.get(sigv4_proxy.url + "healthz", timeout=5).text,
        requests.get(sigv4_proxy.url + "metrics", timeout=5).text,
        sigv4_proxy.logs(),
    ]
    for text in texts:
        assert TEST_CREDENTIALS.secret_key not in text
        assert TEST_CREDENTIALS.access_key not in text
        assert signed_upstream.url.rstrip("/") not in text
    assert json.loads(texts[3])["upstreams"][0]["name"] == "amb"


def test_header_mode__token_reaches_upstream_only(start_proxy, anvil):
    from .upstream_server import TestUpstream

    upstream = TestUpstream(forward_to=anvil.url)
    token = "provider-api-token-0123456789"
    try:
        proxy = start_proxy(
            upstreams=[
                {
                    "url": upstream.url,
                    "name": "provider",
                    "auth": "header",
                    "headers": {"X-Api-Key": token},
                }
            ]
        )
        response = rpc(proxy.url, "eth_chainId")
        assert response.status_code == 200
        forwarded = [r for r in upstream.requests if r["methods"] == ["eth_chainId"]]
        assert forwarded and all(r["headers"].get("X-Api-Key") == token for r in forwarded)
        proxy.stop()
        assert token not in response.text + proxy.logs()
    finally:
        upstream.stop()
