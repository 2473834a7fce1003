"""The real server (serving.py: uvicorn in front, one pool per kind of request) on a loopback port:
what one client holds — streams, slow bodies, huge bodies — never keeps health, sign-in or another
client's reads waiting, and the server ends streams itself when their client leaves or it stops."""

from __future__ import annotations

import signal
import socket
import threading
import time
from contextlib import contextmanager

import pytest
import requests

from services.gateway.serving import Pool, build_server, pool_for
from tests.gateway.chain_helpers import free_port
from tests.gateway.conftest import bearer, sign_in
from tests.gateway.onboarding_helpers import register_device

ANSWER_S = 10  # generous: the machine is shared; what matters is that an answer comes at all


@contextmanager
def served(app):
    context = app.extensions["pulseledger_gateway"]
    port = free_port()
    server = build_server(app, context.settings, "127.0.0.1", port, on_stop=context.close)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.handle_exit(signal.SIGTERM, None)
        thread.join(30)


def _open_stream(url, owner, token):
    return requests.get(f"{url}/patients/{owner}/live", headers=bearer(token), stream=True,
                        timeout=ANSWER_S)


def _honest_client_is_served(url, chain, app):
    """Health, a nonce, a whole sign-in and a read by someone else all answer."""
    assert requests.get(f"{url}/healthz", timeout=ANSWER_S).status_code == 200
    assert requests.get(f"{url}/auth/nonce", timeout=ANSWER_S).status_code == 200
    honest = chain.fund()
    token = sign_in(app.test_client(), honest)  # same secret: a token any replica accepts
    nonce = requests.get(f"{url}/auth/nonce", timeout=ANSWER_S).json()["nonce"]
    assert nonce
    read = requests.get(f"{url}/patients/{honest.address}/windows", headers=bearer(token),
                        timeout=ANSWER_S)
    assert read.status_code == 200


def _sixteen_streams_from_one_wallet(app, chain, check) -> None:
    """Finding 4(a) of issue 14: one wallet opens 16 streams on its own live view; `check`
    looks at the answers, then an honest client must still be served while they stay open."""
    patient = chain.fund()
    register_device(app.test_client(), patient)
    token = sign_in(app.test_client(), patient)
    with served(app) as (url, _):
        streams = [_open_stream(url, patient.address, token) for _ in range(16)]
        check(streams)
        _honest_client_is_served(url, chain, app)
        for stream in streams:
            stream.close()


def test_sixteen_streams_from_one_wallet__refused_beyond_bounds__health_and_sign_in_served(
        app_with, chain):
    def check(streams):
        statuses = [s.status_code for s in streams]
        assert statuses.count(200) == 3 and statuses.count(429) == 13

    _sixteen_streams_from_one_wallet(app_with(live_per_account=3), chain, check)


def test_live_capacity_full__health_sign_in_and_reads_still_served(app_with, chain):
    """However the bounds are set, streams only ever hold the live pool's threads."""
    def check(streams):
        statuses = [s.status_code for s in streams]
        assert statuses.count(200) == 4 and statuses.count(503) == 12
        assert all(s.json()["error"] == "busy" for s in streams if s.status_code == 503)

    _sixteen_streams_from_one_wallet(
        app_with(live_per_account=100, live_per_client=100, live_total=4, workers_threads=2,
                 auth_threads=1, health_threads=1), chain, check)


def test_client_leaves__its_stream_ends_at_once(app_with, chain):
    app = app_with(sse_heartbeat_s=60)  # no heartbeat write would notice within the test
    live = app.extensions["pulseledger_gateway"].live
    patient = chain.fund()
    register_device(app.test_client(), patient)
    token = sign_in(app.test_client(), patient)
    with served(app) as (url, _):
        stream = _open_stream(url, patient.address, token)
        assert stream.status_code == 200 and live.open_count() == 1
        stream.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)  # the browser tab closes
        stream.close()
        deadline = time.monotonic() + ANSWER_S
        while live.open_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live.open_count() == 0


def test_server_stopping__ends_streams_instead_of_waiting_for_them(app_with, chain):
    app = app_with(sse_heartbeat_s=60, sse_max_duration_s=3600)
    patient = chain.fund()
    register_device(app.test_client(), patient)
    token = sign_in(app.test_client(), patient)
    with served(app) as (url, server):
        stream = _open_stream(url, patient.address, token)
        assert stream.status_code == 200
        chunks = stream.iter_content(chunk_size=None)
        assert next(chunks).startswith(b"retry:")
        server.handle_exit(signal.SIGTERM, None)
        assert b"".join(chunks) == b""  # the stream ends; the client reconnects elsewhere


def test_slow_bodies_hold_no_thread__and_time_out(app_with):
    app = app_with(per_client_in_flight=4, body_timeout_s=2, workers_threads=2)
    with served(app) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        slow = []
        for _ in range(4):  # bodies announced, never sent: all of this client's allowance
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /onboarding/contacts HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            slow.append(sock)
        time.sleep(0.3)  # let the server read those headers
        more = _raw_get(port, "/auth/nonce")
        assert more.startswith(b"HTTP/1.1 429")  # the same client, over its allowance
        for path in ("/auth/nonce", "/healthz", "/openapi.json"):  # another client: nothing
            assert _raw_get(port, path, source="127.0.0.2").startswith(b"HTTP/1.1 200")  # held
        assert _raw_get(port, "/healthz").startswith(b"HTTP/1.1 200")  # health is never capped
        for sock in slow:
            sock.settimeout(ANSWER_S)
            assert sock.recv(4096).startswith(b"HTTP/1.1 408")
            sock.close()


def test_huge_body__413_before_it_is_read(app_with):
    app = app_with()
    with served(app) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST /auth/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 1000000000\r\n\r\n")
            sock.settimeout(ANSWER_S)
            assert sock.recv(4096).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("path, pool", [
    ("/healthz", "health"), ("/metrics", "health"), ("/auth/nonce", "auth"),
    ("/auth/sign-in", "auth"), ("/patients/0xabc/live", "live"),
    ("/patients/0xabc/live/x", "default"), ("/patients/0xabc/windows", "default"),
    ("/records/0x1", "default"), ("/", "default"),
])
def test_pool_for__each_kind_of_request(path, pool):
    assert pool_for(path) == pool


def test_pool__admits_threads_plus_queue_then_refuses():
    pool = Pool("t", threads=2, queue=1)
    assert [pool.admit() for _ in range(4)] == [True, True, True, False]
    pool.done()
    assert pool.admit()
    pool.executor.shutdown()


def _raw_get(port: int, path: str, source: str = "127.0.0.1") -> bytes:
    with socket.create_connection(("127.0.0.1", port), source_address=(source, 0)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        sock.settimeout(ANSWER_S)
        return sock.recv(4096)
