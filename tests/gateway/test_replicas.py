"""Three gateway processes over one redis-server, one record store and one chain, behind a
round-robin client, behave as one gateway: a nonce is spent once wherever it is redeemed, a
session and its sign-out hold everywhere, budgets and stream bounds are counted once, and a replica
killed mid-stream costs its client a reconnect and nothing else."""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import SecretStr
from requests.adapters import HTTPAdapter

from services.gateway.siwe import build_message
from services.gateway.typed_data import onboarding_typed_data, sign_typed
from services.gateway.wiring import chain_identity
from services.records import RecordsSettings, open_store
from services.records.window_payload import sample_payload
from tests.gateway.conftest import DOMAIN, URI
from tests.gateway.onboarding_helpers import mailed_secrets
from tests.gateway.processes import GatewayProcess, gateway_env, new_master_key

REPLICAS = 3
NONCES_PER_CLIENT = 20
TIMEOUT_S = 15


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return {"dir": tmp_path_factory.mktemp("replica-records"), "key": new_master_key()}


@pytest.fixture(scope="module")
def replicas(chain, gateway_account, redis_server, records):
    env = gateway_env(chain, gateway_account, records["dir"], records["key"],
                      shared_store_url=redis_server.url, session_secret="one-secret-for-all",
                      domain=DOMAIN, uri=URI, sse_heartbeat_s=0.5, nonces_per_client=
                      NONCES_PER_CLIENT, live_per_account=2)
    started = [GatewayProcess(env) for _ in range(REPLICAS)]
    try:
        with ThreadPoolExecutor(REPLICAS) as pool:
            list(pool.map(GatewayProcess.wait_healthy, started))
        yield started
    finally:
        for replica in started:
            replica.stop()


@pytest.fixture(scope="module")
def writer(ledger, records):
    """The storage side: writes windows into the store the replicas read."""
    store = open_store(RecordsSettings(
        sqlite_dir=records["dir"], master_key_file=None, create_master_key=False,
        master_key=SecretStr(records["key"]), watch_poll_interval_s=0.05), chain_identity(ledger))
    yield store
    store.close()


_sources = itertools.count(10)


class RoundRobin:
    """A client behind a round-robin balancer: each request goes to the next replica. Each
    instance has a loopback address of its own, so the tests' budgets do not mix."""

    def __init__(self, replicas: list[GatewayProcess]):
        self.replicas = replicas
        self._next = itertools.cycle(range(len(replicas)))
        self.source = f"127.0.0.{next(_sources)}"
        self.http = requests.Session()
        self.http.mount("http://", _SourceAdapter(self.source))

    def url(self, path: str, replica: int | None = None) -> str:
        index = next(self._next) if replica is None else replica
        return self.replicas[index].url + path

    def get(self, path: str, replica: int | None = None, **kwargs):
        return self.http.get(self.url(path, replica), timeout=TIMEOUT_S, **kwargs)

    def post(self, path: str, replica: int | None = None, **kwargs):
        return self.http.post(self.url(path, replica), timeout=TIMEOUT_S, **kwargs)

    def signed_message(self, account, replica: int | None = None) -> dict:
        issued = self.get("/auth/nonce", replica).json()
        text = build_message(domain=issued["domain"], address=account.address,
                             uri=issued["uri"], chain_id=issued["chain_id"],
                             nonce=issued["nonce"], statement=issued["statement"])
        return {"message": text,
                "signature": account.sign_message(encode_defunct(text=text)).signature
                .to_0x_hex()}

    def sign_in(self, account) -> str:
        response = self.post("/auth/sign-in", json=self.signed_message(account))
        assert response.status_code == 200, response.text
        return response.json()["token"]


class _SourceAdapter(HTTPAdapter):
    def __init__(self, source: str):
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


def test_nonce__issued_by_one__redeemed_at_another__exactly_once(replicas):
    client = RoundRobin(replicas)
    body = client.signed_message(Account.create(), replica=0)
    with ThreadPoolExecutor(REPLICAS * 2) as pool:  # every replica at once, twice
        answers = list(pool.map(lambda i: client.post("/auth/sign-in", replica=i % REPLICAS,
                                                      json=body).status_code,
                                range(REPLICAS * 2)))
    assert sorted(answers) == [200] + [401] * (REPLICAS * 2 - 1)


def test_session__valid_on_every_replica__signed_out_on_every_replica(replicas):
    client = RoundRobin(replicas)
    token = client.sign_in(Account.create())
    auth = {"Authorization": f"Bearer {token}"}
    assert [client.get("/auth/session", i, headers=auth).status_code
            for i in range(REPLICAS)] == [200] * REPLICAS
    assert client.post("/auth/sign-out", 1, headers=auth).status_code == 200
    assert [client.get("/auth/session", i, headers=auth).status_code
            for i in range(REPLICAS)] == [401] * REPLICAS


def test_budget__held_across_replicas(replicas):
    client = RoundRobin(replicas)
    answers = [client.get("/auth/nonce").status_code for _ in range(2 * NONCES_PER_CLIENT)]
    assert answers.count(200) == NONCES_PER_CLIENT
    assert answers[NONCES_PER_CLIENT:] == [429] * NONCES_PER_CLIENT


def test_confirmation_link__mailed_by_one__confirmed_at_another__exactly_once(replicas,
                                                                             records):
    """The link's secret is in the shared record store (its digest), the budgets in the shared
    store: whichever replica the link comes back to, it works once."""
    client = RoundRobin(replicas)
    patient = Account.create()
    issued = client.get("/auth/nonce", 0).json()
    message = {"owner": patient.address, "emails": ["far@home.example"],
               "nonce": issued["nonce"]}
    signature = sign_typed(onboarding_typed_data("SetContacts", message, issued["chain_id"]),
                           patient.key).to_0x_hex()
    saved = client.post("/onboarding/contacts", 0, json={
        "owner": patient.address, "emails": message["emails"], "nonce": issued["nonce"],
        "signature": signature})
    assert saved.status_code == 200, saved.text
    [secret] = mailed_secrets(records["dir"].parent / "outbox", "far@home.example")
    with ThreadPoolExecutor(REPLICAS * 2) as pool:  # every replica at once, twice
        answers = list(pool.map(lambda i: client.post(
            "/onboarding/emails/confirm", replica=i % REPLICAS, json={"token": secret}
        ).status_code, range(REPLICAS * 2)))
    assert sorted(answers) == [200] + [404] * (REPLICAS * 2 - 1)


def _stream(client, replica, owner, token, last_event_id=None):
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    return client.http.get(client.url(f"/patients/{owner}/live", replica), headers=headers,
                           stream=True, timeout=TIMEOUT_S)


def test_live_streams__bounded_per_account_across_replicas(replicas):
    client = RoundRobin(replicas)
    patient = Account.create()
    token = client.sign_in(patient)
    opened = [_stream(client, i, patient.address, token) for i in range(REPLICAS)]
    assert [s.status_code for s in opened] == [200, 200, 429]
    for stream in opened:
        stream.close()


class Follower:
    """The dapp's live view: follows the stream, remembers the last event id, and on a dropped
    connection reconnects — to the next replica — with Last-Event-ID."""

    def __init__(self, client: RoundRobin, owner: str, token: str):
        self.client, self.owner, self.token = client, owner, token
        self.events: list[dict] = []
        self.connections: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self):
        replica = 0
        while not self.stop.is_set():
            last = self.events[-1]["id"] if self.events else None
            try:
                response = _stream(self.client, replica, self.owner, self.token, last)
                if response.status_code != 200:  # e.g. the dead replica's lease still counts
                    time.sleep(0.2)
                    continue
                self.connections.append(replica)
                for block in _sse_blocks(response):
                    if "data" in block:
                        self.events.append({"id": block["id"], **json.loads(block["data"])})
                    if self.stop.is_set():
                        response.close()
                        return
            except requests.RequestException:
                pass  # the replica died under us: reconnect below
            replica = (replica + 1) % len(self.client.replicas)


def _sse_blocks(response):
    block: dict[str, str] = {}
    for line in response.iter_lines(decode_unicode=True):
        if not line:
            if block:
                yield block
            block = {}
        elif not line.startswith(":") and ": " in line:
            field, value = line.split(": ", 1)
            block[field] = value


def _wait_for(condition, what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_replica_killed_mid_stream__the_client_reconnects_and_loses_nothing(replicas, writer):
    client = RoundRobin(replicas)
    patient = Account.create()
    owner = patient.address.lower()
    follower = Follower(client, patient.address, client.sign_in(patient))
    _wait_for(lambda: follower.connections == [0], "the first stream opens on replica 0")
    device = "12D3KooWReplicaTestDevice"
    written = []

    def write(i: int) -> None:
        start = 1_700_200_000_000 + i * 10_000
        written.append(writer.put_window(owner, device, start, sample_payload(
            i, device_id=device, window_start_ms=start)).record_id)

    for i in range(3):
        write(i)
    _wait_for(lambda: len(follower.events) == 3, "three windows arrive live")
    replicas[0].kill()  # SIGKILL: no goodbye, its lease expires by itself
    for i in range(3, 8):  # written while the client has no stream
        write(i)
    _wait_for(lambda: len(follower.events) >= 8, "the reconnected stream catches up")
    follower.stop.set()
    assert [e["record_id"] for e in follower.events if e["kind"] == "window_added"] == written
    assert len({e["id"] for e in follower.events}) == len(follower.events)  # nothing repeated
    assert follower.connections[0] == 0 and 0 not in follower.connections[1:]
