"""The WebSocket path: an upstream's answer to a client's call, or a notification of the client's
own subscription, quoting a credential of the signed handshake (Authorization, signature,
access key id, session token), as is or spelt with JSON escapes, never reaches the client. Each
test asserts the call reached the (SigV4-verifying) upstream."""

import json

import pytest
import requests
from websockets.sync.client import connect

from . import leaks
from .conftest import AWS_ENV, base_settings
from .leaks import QUOTED, SESSION_TOKEN, SPELLINGS, assert_nothing_quoted
from .processes import ProxyProcess
from .ws_upstream import WsTestUpstream


@pytest.fixture(scope="module")
def upstream(anvil):
    server = WsTestUpstream(anvil.url.replace("http://", "ws://"), sigv4=leaks.SESSION_CREDENTIALS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ws_proxy(upstream, deployments_file):
    proxy = ProxyProcess(
        base_settings(deployments_file, ws_upstreams=[{"url": upstream.url, "auth": "sigv4"}]),
        extra_env={**AWS_ENV, "AWS_SESSION_TOKEN": SESSION_TOKEN},
        websocket=True,
    )
    yield proxy
    proxy.stop()
    proxy.cleanup()


def _call(ws, method, params, request_id) -> dict:
    ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}))
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message.get("id") == request_id:
            return message


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("quoted", QUOTED)
def test_ws_answer_quoting_a_credential__withheld(ws_proxy, upstream, quoted, spelling):
    def quoting(handshake, call):
        if call.get("method") != "eth_blockNumber":
            return None
        return leaks.error_answer(call["id"], QUOTED[quoted](handshake), spelling).decode()

    upstream.reply = quoting
    try:
        with connect(ws_proxy.ws_url, proxy=None) as ws:
            before = upstream.received.count("eth_blockNumber")
            answer = _call(ws, "eth_blockNumber", [], 41)
        assert upstream.received.count("eth_blockNumber") == before + 1  # it was called
        assert upstream.rejected == [] and upstream.handshakes
        assert answer == {
            "jsonrpc": "2.0",
            "id": 41,
            "error": {"code": -32603, "message": "upstream answer withheld"},
        }
        proxy_logs = ws_proxy.logs()
        assert_nothing_quoted(
            [json.dumps(answer), proxy_logs], leaks.secrets_of(upstream.handshakes[-1])
        )
    finally:
        upstream.reply = None


@pytest.mark.parametrize("spelling", ["dotnet", "every-character"])
def test_ws_notification_quoting_the_session_token_escaped__dropped(
    ws_proxy, upstream, anvil, spelling
):
    with connect(ws_proxy.ws_url, proxy=None) as ws:
        mine = _call(ws, "eth_subscribe", ["newHeads"], 51)["result"]
        token = leaks.json_string(SESSION_TOKEN, spelling)
        upstream.push(
            '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":'
            f'{json.dumps(mine)},"result":{{"note":"token {token}"}}}}}}'
        )
        requests.post(
            anvil.url,
            json={"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []},
            timeout=5,
        ).raise_for_status()
        # The quoting one went up the same socket before the real head: the first message the
        # client gets is the head, so the other was dropped.
        first = json.loads(ws.recv(timeout=10))
        assert first["params"]["subscription"] == mine
        assert "number" in first["params"]["result"]
    assert_nothing_quoted([json.dumps(first)], [SESSION_TOKEN])
