"""Rate limits, stalled upstreams, dead upstreams: each with its own proxy under gunicorn and
deadlines set small. Behaviour is asserted, never time."""

import pytest
import requests

from .chain import CHAIN_ID
from .conftest import base_settings, rpc
from .health import wait_for_upstreams
from .processes import ProxyProcess
from .upstream_server import TestUpstream


@pytest.fixture(scope="module")
def strict_proxy(anvil, deployments_file):
    """Two workers, a tiny rate limit keyed on X-Forwarded-For (one trusted hop), no batches."""
    proxy = ProxyProcess(
        base_settings(
            deployments_file,
            upstreams=[{"url": anvil.url}],
            rate_limit_burst=BURST,
            rate_limit_per_second=0.01,  # no token comes back during the test
            trusted_proxy_hops=1,
            batch_policy="refuse",
        ),
        workers=2,
    )
    yield proxy
    proxy.stop()
    proxy.cleanup()


BURST = 5


def _as_client(client: str) -> dict:
    # A new connection each time, so that both workers serve some of the requests.
    return {"X-Forwarded-For": f"203.0.113.9, {client}", "Connection": "close"}


def test_rate_limit__shared_by_all_workers__429_with_retry_after(strict_proxy):
    statuses, retry_after = [], []
    for _ in range(3 * BURST):
        response = rpc(strict_proxy.url, "eth_chainId", headers=_as_client("198.51.100.1"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after.append(int(response.headers["Retry-After"]))
            assert response.json()["error"]["code"] == -32005
    assert statuses.count(200) == BURST
    assert statuses.count(429) == 2 * BURST
    assert all(seconds >= 1 for seconds in retry_after)


@pytest.mark.parametrize("path", ["nope", "/", "healthz/"])
def test_rate_limit__applies_before_routing__any_path(strict_proxy, path):
    client = _as_client(f"198.51.100.{20 + len(path)}")
    for _ in range(BURST):
        requests.get(strict_proxy.url + "healthz", headers=client, timeout=5)
    response = requests.post(strict_proxy.url + path, json={}, headers=client, timeout=5)
    assert response.status_code == 429
    assert "Location" not in response.headers


def test_rate_limit__per_client(strict_proxy):
    def status(client):
        return rpc(strict_proxy.url, "eth_chainId", headers=_as_client(client)).status_code

    assert [status("198.51.100.2") for _ in range(BURST + 1)] == [200] * BURST + [429]
    assert [status("198.51.100.3") for _ in range(BURST + 1)] == [200] * BURST + [429]


def test_batch_policy_refuse__batches_refused_single_calls_pass(strict_proxy):
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}]
    refused = requests.post(
        strict_proxy.url, json=batch, headers=_as_client("198.51.100.4"), timeout=5
    )
    assert refused.status_code == 400
    assert "batch" in refused.json()["error"]["message"]
    assert (
        rpc(strict_proxy.url, "eth_chainId", headers=_as_client("198.51.100.4")).status_code == 200
    )


def test_stalled_upstream__504_within_deadline(start_proxy):
    staller = TestUpstream(mode="stall", chain_id=CHAIN_ID)  # verified, then stalls
    try:
        proxy = start_proxy(
            upstreams=[{"url": staller.url, "name": "staller"}], upstream_timeout_seconds=0.3
        )
        response = rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"], request_id=9)
        assert response.status_code == 504
        assert response.json() == {
            "jsonrpc": "2.0",
            "id": 9,
            "error": {"code": -32002, "message": "upstream did not answer within the deadline"},
        }
        assert 9 in staller.ids()  # the call itself reached it (and stalled there)
    finally:
        staller.stop()


def test_upstream_redirect__not_followed__502(start_proxy):
    """The redirect's target, another loopback server, is never reached."""
    target = TestUpstream(mode="status", status=200)
    redirector = TestUpstream(mode="redirect", redirect_to=target.url, chain_id=CHAIN_ID)
    try:
        proxy = start_proxy(upstreams=[{"url": redirector.url, "name": "redirector"}])
        response = rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"])
        assert response.status_code == 502
        assert "eth_getBalance" in redirector.methods()
        assert target.requests == []
        assert target.url not in response.text
    finally:
        target.stop()
        redirector.stop()


def _wait_health(url, expected: dict[str, bool]):
    wait_for_upstreams(url, {name: {"healthy": healthy} for name, healthy in expected.items()})


def test_failover__primary_dies__secondary_serves__health_reports_it(start_proxy, anvil):
    primary, secondary = TestUpstream(forward_to=anvil.url), TestUpstream(forward_to=anvil.url)
    try:
        proxy = start_proxy(
            upstreams=[
                {"url": primary.url, "name": "primary"},
                {"url": secondary.url, "name": "secondary"},
            ],
            health_interval_seconds=0.1,
        )
        assert rpc(proxy.url, "eth_chainId").status_code == 200
        _wait_health(proxy.url, {"primary": True, "secondary": True})
        served_by_primary = [r for r in primary.requests if r["methods"] == ["eth_getBalance"]]
        assert rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"]).status_code == 200
        assert (
            len([r for r in primary.requests if r["methods"] == ["eth_getBalance"]])
            == len(served_by_primary) + 1
        )

        primary.stop()
        for _ in range(5):
            response = rpc(proxy.url, "eth_chainId")
            assert response.status_code == 200
            assert int(response.json()["result"], 16) == CHAIN_ID
        assert [r for r in secondary.requests if r["methods"] == ["eth_chainId"]]
        _wait_health(proxy.url, {"primary": False, "secondary": True})
        health = requests.get(proxy.url + "healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "degraded"

        secondary.stop()
        assert rpc(proxy.url, "eth_chainId").status_code == 502
        _wait_health(proxy.url, {"primary": False, "secondary": False})
        assert requests.get(proxy.url + "healthz", timeout=5).status_code == 503
    finally:
        primary.stop()
        secondary.stop()


def test_failover__wrong_chain_set_aside__overloaded_skipped(start_proxy, anvil):
    """The deployments file says 31337: an upstream answering chain id 1 is never used; one
    answering 503 is skipped; the third serves."""
    mainnet = TestUpstream(mode="answer", answers={"eth_chainId": "0x1", "eth_blockNumber": "0x10"})
    overloaded = TestUpstream(mode="status", status=503)
    healthy = TestUpstream(forward_to=anvil.url)
    try:
        proxy = start_proxy(
            upstreams=[
                {"url": mainnet.url, "name": "mainnet"},
                {"url": overloaded.url, "name": "overloaded"},
                {"url": healthy.url, "name": "healthy"},
            ],
            health_interval_seconds=0.1,
        )
        _wait_health(proxy.url, {"mainnet": False, "overloaded": False, "healthy": True})
        response = rpc(proxy.url, "eth_getBalance", ["0x" + "00" * 20, "latest"])
        assert response.status_code == 200
        assert "result" in response.json()
        assert "eth_getBalance" not in mainnet.methods()
        assert "eth_getBalance" in healthy.methods()
    finally:
        for server in (mainnet, overloaded, healthy):
            server.stop()


def test_metrics__prometheus_text_counts_requests(sigv4_proxy):
    rpc(sigv4_proxy.url, "eth_chainId")
    rpc(sigv4_proxy.url, "eth_accounts")
    text = requests.get(sigv4_proxy.url + "metrics", timeout=5).text
    assert 'pulseledger_proxy_requests_total{status="200"}' in text
    assert 'pulseledger_proxy_calls_total{method="not_allowed",outcome="refused"}' in text
    assert 'pulseledger_proxy_upstream_attempts_total{outcome="ok",upstream="amb"}' in text
    assert "pulseledger_proxy_request_seconds_bucket" in text
