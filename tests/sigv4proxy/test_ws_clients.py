"""Per-client limits of `pulseledger proxy-ws`: a cap on open connections per client, and the
client read the same way as over HTTP (TRUSTED_PROXY_HOPS from the right of X-Forwarded-For).
Every connection comes from 127.0.0.1: only the forwarded address tells the clients apart."""

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from .chain import CHAIN_ID
from .conftest import base_settings
from .health import metric, wait_until
from .processes import ProxyProcess

MAX_CONNECTIONS = 2
BURST = 4


@pytest.fixture(scope="module")
def ws_proxy(anvil, deployments_file):
    proxy = ProxyProcess(
        base_settings(
            deployments_file,
            ws_upstreams=[{"url": anvil.url.replace("http://", "ws://"), "name": "anvil"}],
            ws_max_connections_per_client=MAX_CONNECTIONS,
            trusted_proxy_hops=1,
            rate_limit_burst=BURST,
            rate_limit_per_second=0.01,  # no token comes back during the test
        ),
        websocket=True,
    )
    yield proxy
    proxy.stop()
    proxy.cleanup()


def _open(proxy, client: str, written_by_client: str = "192.0.2.1"):
    """A connection as the load balancer in front would pass it on: whatever the client wrote
    in X-Forwarded-For, then the address the balancer saw."""
    headers = {"X-Forwarded-For": f"{written_by_client}, {client}"}
    return connect(proxy.ws_url, additional_headers=headers, proxy=None)


def _chain_id(ws, request_id=1) -> dict:
    ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "eth_chainId"}))
    return json.loads(ws.recv(timeout=10))


def test_ws_connections__capped_per_forwarded_client__429__freed_on_close(ws_proxy):
    first = _open(ws_proxy, "198.51.100.1")
    second = _open(ws_proxy, "198.51.100.1", written_by_client="192.0.2.2")
    try:
        for ws in (first, second):
            assert int(_chain_id(ws)["result"], 16) == CHAIN_ID
        # What the client writes itself is not trusted: a third with another left-hand entry is
        # still the same client.
        with pytest.raises(InvalidStatus) as refused:
            _open(ws_proxy, "198.51.100.1", written_by_client="192.0.2.3")
        assert refused.value.response.status_code == 429
        assert b"more than 2 WebSocket connections" in refused.value.response.body
        # Another client behind the same balancer (same TCP peer) is not affected.
        with _open(ws_proxy, "198.51.100.2") as other:
            assert int(_chain_id(other)["result"], 16) == CHAIN_ID
    finally:
        second.close()
    refused_so_far = metric(
        ws_proxy.url, "pulseledger_proxy_ws_handshakes_refused_total", reason="too_many_connections"
    )
    assert refused_so_far == 1
    # The closed connection's place is given back (once the proxy has seen its TCP end).
    admitted = []

    def third_admitted() -> bool:
        try:
            admitted.append(_open(ws_proxy, "198.51.100.1"))
            return True
        except InvalidStatus as status:
            assert status.response.status_code == 429
            return False

    wait_until(third_admitted, "a closed connection's place is given back", seconds=10)
    try:
        assert int(_chain_id(admitted[0])["result"], 16) == CHAIN_ID
    finally:
        admitted[0].close()
        first.close()


def test_ws_rate_limit__keyed_on_forwarded_client_not_tcp_peer(ws_proxy):
    with _open(ws_proxy, "198.51.100.7") as spender, _open(ws_proxy, "198.51.100.8") as other:
        answers = [_chain_id(spender, request_id=i) for i in range(BURST + 2)]
        assert [("result" in a) for a in answers] == [True] * BURST + [False] * 2
        assert all(a["error"]["code"] == -32005 for a in answers[BURST:])
        # Same TCP peer (127.0.0.1), another forwarded client: its own bucket.
        assert int(_chain_id(other)["result"], 16) == CHAIN_ID
