"""WebSocket sessions through `pulseledger proxy-ws`: the subscription cap counts only the live
subscriptions the proxy created (made-up eth_unsubscribe ids are refused there and never lower
it), upstream messages for subscriptions the client did not make or quoting the handshake's
credentials never reach the client, and an upstream is used only while it answers our chain id:
checked at connect and every HEALTH_INTERVAL_SECONDS on the open socket. Each test asserts what
reached the recording upstream."""

import json

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .chain import CHAIN_ID, OTHER_CHAIN_ID
from .conftest import AWS_ENV, TEST_CREDENTIALS, base_settings
from .health import metric, wait_until
from .processes import ProxyProcess
from .ws_upstream import WsTestUpstream

MAX_SUBSCRIPTIONS = 3


@pytest.fixture(scope="module")
def switcher(anvil):
    """The preferred upstream (SigV4-signed handshake), whose chain the tests may change."""
    upstream = WsTestUpstream(anvil.url.replace("http://", "ws://"), sigv4=TEST_CREDENTIALS)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def backup(anvil):
    upstream = WsTestUpstream(anvil.url.replace("http://", "ws://"))
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def ws_proxy(switcher, backup, deployments_file):
    proxy = ProxyProcess(
        base_settings(
            deployments_file,
            ws_upstreams=[
                {"url": switcher.url, "name": "switcher", "auth": "sigv4"},
                {"url": backup.url, "name": "backup"},
            ],
            ws_max_subscriptions=MAX_SUBSCRIPTIONS,
            health_interval_seconds=0.3,
            health_timeout_seconds=2,
        ),
        extra_env=AWS_ENV,
        websocket=True,
    )
    yield proxy
    proxy.stop()
    proxy.cleanup()


class Client:
    """A WebSocket client that keeps answers and notifications apart."""

    def __init__(self, url: str):
        self.ws = connect(url, proxy=None)
        self.notifications: list[dict] = []
        self._next_id = 100

    def call(self, method: str, params=None) -> dict:
        self._next_id += 1
        request = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or []}
        self.ws.send(json.dumps(request))
        while True:
            message = json.loads(self.ws.recv(timeout=10))
            if "id" not in message:
                self.notifications.append(message)
                continue
            assert message["id"] == self._next_id
            return message

    def drain(self, seconds: float) -> list[dict]:
        """Every message arriving within `seconds` (a bounded wait for what may come)."""
        try:
            while True:
                self.notifications.append(json.loads(self.ws.recv(timeout=seconds)))
        except TimeoutError:
            return self.notifications

    def close(self):
        self.ws.close()


def _mine(anvil) -> None:
    requests.post(
        anvil.url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []}, timeout=5
    ).raise_for_status()


def test_ws__subscription_cap__made_up_unsubscribes_refused_and_never_lower_it(
    ws_proxy, switcher, anvil
):
    client = Client(ws_proxy.ws_url)
    try:
        subscriptions = [client.call("eth_subscribe", ["newHeads"])["result"] for _ in range(3)]
        assert len(set(subscriptions)) == MAX_SUBSCRIPTIONS
        over = client.call("eth_subscribe", ["newHeads"])
        assert over["error"]["code"] == -32005

        unsubscribes_before = switcher.received.count("eth_unsubscribe")
        for i in range(10):  # made-up ids: refused here, never forwarded, the count unchanged
            fake = client.call("eth_unsubscribe", [hex(0xDEAD0000 + i)])
            assert fake["error"]["code"] == -32602
        assert client.call("eth_unsubscribe", ["not-an-id"])["error"]["code"] == -32602
        assert client.call("eth_subscribe", ["logs", {}])["error"]["code"] == -32005
        assert switcher.received.count("eth_unsubscribe") == unsubscribes_before
        subscribes = switcher.received.count("eth_subscribe")

        assert client.call("eth_unsubscribe", [subscriptions[0]])["result"] is True
        assert switcher.received.count("eth_unsubscribe") == unsubscribes_before + 1
        again = client.call("eth_unsubscribe", [subscriptions[0]])  # no longer live
        assert again["error"]["code"] == -32602
        assert switcher.received.count("eth_unsubscribe") == unsubscribes_before + 1
        replacement = client.call("eth_subscribe", ["newHeads"])["result"]
        assert switcher.received.count("eth_subscribe") == subscribes + 1

        _mine(anvil)
        live = {*subscriptions[1:], replacement}
        wait_until(lambda: len(client.drain(0.2)) >= len(live), "each live subscription's head")
        assert {n["params"]["subscription"] for n in client.notifications} == live
    finally:
        client.close()


def test_ws__upstream_messages_not_for_this_client__never_relayed(ws_proxy, switcher, anvil):
    client = Client(ws_proxy.ws_url)
    try:
        mine = client.call("eth_subscribe", ["newHeads"])["result"]
        handshake = switcher.handshakes[-1]
        signature = handshake["Authorization"].rsplit("Signature=", 1)[1]
        stranger = {"subscription": "0x" + "ab" * 16, "result": {"number": "0x1"}}
        switcher.push(
            json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": stranger})
        )
        leak = {"subscription": mine, "result": {"note": f"signed with {signature}"}}
        switcher.push(json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": leak}))
        switcher.push(json.dumps({"jsonrpc": "2.0", "id": 424242, "result": "0x1"}))  # no call
        switcher.push("not json")
        _mine(anvil)
        wait_until(lambda: client.drain(0.2), "the real head")
        assert [n["params"]["subscription"] for n in client.notifications] == [mine]
        assert "number" in client.notifications[0]["params"]["result"]
        assert all(signature not in json.dumps(n) for n in client.notifications)
        dropped = "pulseledger_proxy_ws_upstream_messages_dropped_total"
        for reason in ("unknown_subscription", "credential_in_reply", "unknown_id", "not_json"):
            assert metric(ws_proxy.url, dropped, upstream="switcher", reason=reason) >= 1
    finally:
        client.close()


def test_ws__chain_checked_at_connect_and_during_session(ws_proxy, switcher, backup):
    client = Client(ws_proxy.ws_url)
    try:
        assert int(client.call("eth_chainId")["result"], 16) == CHAIN_ID
        served = len(switcher.calls)
        client.call("eth_blockNumber")
        assert "eth_blockNumber" in switcher.received[served:]  # the switcher serves it

        switcher.chain_id = OTHER_CHAIN_ID  # its provider now points at chain 1234
        with pytest.raises(ConnectionClosed) as closed:
            client.drain(10)  # the next periodic check ends the session
        assert closed.value.rcvd.code == 1011
    finally:
        client.close()
    try:
        backup_calls = len(backup.calls)
        switcher_calls = len(switcher.calls)
        reconnected = Client(ws_proxy.ws_url)
        assert int(reconnected.call("eth_chainId")["result"], 16) == CHAIN_ID
        reconnected.call("eth_blockNumber")
        # The switcher is at most asked its chain id (at connect, or by a periodic check, when
        # one falls in this moment): it serves nothing. The backup serves the new session.
        asked = {c["method"] for c in switcher.calls[switcher_calls:]}
        assert asked <= {"eth_chainId"}, asked
        assert "eth_blockNumber" in [c["method"] for c in backup.calls[backup_calls:]]
        reconnected.close()
        closed_by_chain = metric(
            ws_proxy.url,
            "pulseledger_proxy_ws_upstream_closed_total",
            upstream="switcher",
            reason="wrong_chain",
        )
        assert closed_by_chain == 1
        mismatches = "pulseledger_proxy_upstream_chain_mismatches_total"
        assert metric(ws_proxy.url, mismatches, upstream="switcher") >= 2
    finally:
        switcher.chain_id = None
