"""WebSocket subscriptions through `pulseledger proxy-ws`: a SigV4-signed handshake to a verifying
upstream in front of anvil's WebSocket, failover at connect, the narrower allow-list, origins."""

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from .chain import CHAIN_ID
from .conftest import ALLOWED_ORIGIN, AWS_ENV, TEST_CREDENTIALS, base_settings
from .processes import ProxyProcess
from .ws_upstream import WsTestUpstream

SCRIPT = Path(__file__).with_name("viem_subscriber.mjs")


@pytest.fixture(scope="module")
def ws_upstream(anvil):
    upstream = WsTestUpstream(
        relay_to=anvil.url.replace("http://", "ws://"), sigv4=TEST_CREDENTIALS
    )
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def ws_proxy(ws_upstream, deployments_file):
    """A dead upstream first (a port bound then closed: nothing listens), the signing one second."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    proxy = ProxyProcess(
        base_settings(
            deployments_file,
            ws_upstreams=[
                {"url": f"ws://127.0.0.1:{dead_port}/", "name": "dead"},
                {"url": ws_upstream.url, "name": "amb-ws", "auth": "sigv4"},
            ],
        ),
        extra_env=AWS_ENV,
        websocket=True,
    )
    yield proxy
    proxy.stop()
    proxy.cleanup()


def _call(ws, method, params=None, request_id=1):
    ws.send(
        json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []})
    )
    return json.loads(ws.recv(timeout=10))


def test_ws__signed_handshake__failover_past_dead_upstream(ws_proxy, ws_upstream):
    verified = ws_upstream.verified
    with connect(ws_proxy.ws_url, proxy=None) as ws:
        assert int(_call(ws, "eth_chainId")["result"], 16) == CHAIN_ID
    assert ws_upstream.verified == verified + 1
    assert "eth_chainId" in ws_upstream.methods()


def test_ws__upstream_drops_mid_session__client_closed_1011__reconnect_works(ws_proxy, ws_upstream):
    with connect(ws_proxy.ws_url, proxy=None) as ws:
        assert "result" in _call(ws, "eth_blockNumber")
        ws_upstream.drop_connections()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1011
    with connect(ws_proxy.ws_url, proxy=None) as ws:
        assert int(_call(ws, "eth_chainId")["result"], 16) == CHAIN_ID


def test_ws__unsigned_handshake__refused_by_verifier(ws_upstream):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_upstream.url, proxy=None)
    assert refused.value.response.status_code == 403
    assert ws_upstream.rejected[-1] == "not signed with AWS4-HMAC-SHA256"


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("eth_accounts", [], -32601),
        ("eth_sendTransaction", [{}], -32601),
        ("eth_getBalance", ["0x" + "00" * 20, "latest"], -32601),  # reads go over HTTP
        ("eth_subscribe", ["newPendingTransactions"], -32602),
        ("eth_subscribe", [], -32602),
        # A logs subscription's filter: exactly its known keys, spec values.
        ("eth_subscribe", ["logs", {"FromBlock": "0x0"}], -32602),
        ("eth_subscribe", ["logs", {"fromBlock": "0x0"}], -32602),
        ("eth_subscribe", ["logs", {"Address": "0x" + "00" * 20}], -32602),
        ("eth_subscribe", ["logs", {"address": "0x12"}], -32602),
        ("eth_subscribe", ["logs", {"topics": ["0x" + "ab" * 32] * 5}], -32602),
        ("eth_subscribe", ["logs", {"topics": ["0x7_cf"]}], -32602),
        ("eth_subscribe", ["logs", {}, "extra"], -32602),
        ("eth_unsubscribe", ["0x7_cf"], -32602),
    ],
)
def test_ws__refused_calls__never_reach_upstream(ws_proxy, ws_upstream, method, params, code):
    before = len(ws_upstream.methods())
    with connect(ws_proxy.ws_url, proxy=None) as ws:
        answer = _call(ws, method, params, request_id=5)
        assert answer["id"] == 5 and answer["error"]["code"] == code
        assert int(_call(ws, "eth_chainId")["result"], 16) == CHAIN_ID  # the session lives on
    # The proxy's own chain check when it opened the upstream, then the client's one call.
    assert ws_upstream.methods()[before:] == ["eth_chainId", "eth_chainId"]


CALL_TEXT = json.dumps({"jsonrpc": "2.0", "id": 6, "method": "eth_chainId", "params": []})


@pytest.mark.parametrize(
    "frame",
    [
        CALL_TEXT.encode("utf-16-le"),
        CALL_TEXT.encode("utf-16"),  # with a byte-order mark
        CALL_TEXT.encode("utf-32-be"),
        CALL_TEXT.encode("utf-32"),
        b"\xef\xbb\xbf" + CALL_TEXT.encode(),
    ],
    ids=["utf-16-le", "utf-16-bom", "utf-32-be", "utf-32-bom", "utf-8-bom"],
)
def test_ws__binary_frame_not_utf8_json__refused_never_forwarded(ws_proxy, ws_upstream, frame):
    before = len(ws_upstream.methods())
    with connect(ws_proxy.ws_url, proxy=None) as ws:
        ws.send(frame)  # bytes: a binary frame, which carries no promise of UTF-8
        answer = json.loads(ws.recv(timeout=10))
        assert answer["error"]["code"] == -32700
        assert int(_call(ws, "eth_chainId", request_id=7)["result"], 16) == CHAIN_ID
    # The proxy's chain check at connect and the client's one well-formed call: nothing else.
    assert ws_upstream.methods()[before:] == ["eth_chainId", "eth_chainId"]


def test_ws__origins__configured_accepted_others_refused(ws_proxy):
    with connect(ws_proxy.ws_url, origin=ALLOWED_ORIGIN, proxy=None) as ws:
        assert "result" in _call(ws, "eth_blockNumber")
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_proxy.ws_url, origin="https://evil.example", proxy=None)
    assert refused.value.response.status_code == 403


def test_ws__viem_watches_new_heads_through_proxy(ws_proxy, ws_upstream, anvil):
    node = shutil.which("node")
    assert node, "node is required (it runs the dapp's toolchain too)"
    result = subprocess.run(
        [node, str(SCRIPT), ws_proxy.ws_url, anvil.url],
        check=False,  # the return code is asserted with stderr shown
        capture_output=True,
        text=True,
        timeout=30,
        cwd=SCRIPT.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(out["seen"]) == 3
    assert out["seen"] == list(range(out["seen"][0], out["seen"][0] + 3))
    assert out["denied"] == {"name": "MethodNotFoundRpcError", "code": -32601}
    assert "eth_subscribe" in ws_upstream.methods()


def test_ws__healthz_and_metrics(ws_proxy):
    with connect(ws_proxy.ws_url, proxy=None) as ws:
        _call(ws, "eth_chainId")
    assert requests.get(ws_proxy.url + "healthz", timeout=5).status_code == 200
    text = requests.get(ws_proxy.url + "metrics", timeout=5).text
    assert 'pulseledger_proxy_ws_connections_total{upstream="amb-ws"}' in text
    assert 'pulseledger_proxy_calls_total{method="eth_chainId",outcome="allowed"}' in text
    assert TEST_CREDENTIALS.secret_key not in text
