"""One client cannot spend what others need (app level; the server's pools: test_serving.py, the
replicas: test_replicas.py): budgets per client address, honest pending sign-ins through a nonce
flood, live streams bounded per account, per client and per replica, and ended by their
lifetimes, by sign-out and when their reader loses the right to read."""

import json
import threading
import time

from eth_account import Account
from eth_account.messages import encode_defunct

from services.gateway.disconnect import ENVIRON_KEY, ClientGone
from services.gateway.shared_state import RedisState
from services.gateway.siwe import build_message
from services.records.window_payload import sample_payload
from tests.gateway.conftest import DOMAIN, URI, bearer, sign_in
from tests.gateway.onboarding_helpers import link_doctor, register_device

ABUSER = {"REMOTE_ADDR": "127.0.0.66"}
HONEST = {"REMOTE_ADDR": "127.0.0.7"}


def _sign_in_with(client, account, nonce, environ=HONEST):
    text = build_message(domain=DOMAIN, address=account.address, uri=URI, chain_id=31337,
                         nonce=nonce, statement="Sign in to PulseLedger.")
    signature = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    return client.post("/auth/sign-in", json={"message": text, "signature": signature},
                       environ_base=environ)


def test_nonce_flood__budgeted_per_client__honest_pending_sign_in_survives(app_with):
    client = app_with(nonces_per_client=5).test_client()
    honest = Account.create()
    pending = client.get("/auth/nonce", environ_base=HONEST).get_json()["nonce"]
    answers = [client.get("/auth/nonce", environ_base=ABUSER) for _ in range(50)]
    assert [a.status_code for a in answers].count(200) == 5
    refused = answers[-1]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "sign-in nonces" in refused.get_json()["message"]
    # The flood neither pushed out the honest client's pending nonce nor spent its budget.
    assert _sign_in_with(client, honest, pending).status_code == 200
    assert client.get("/auth/nonce", environ_base=HONEST).status_code == 200


def test_sign_in_attempts__budgeted_per_client_failures_included(app_with):
    client = app_with(sign_ins_per_client=3).test_client()
    for _ in range(3):
        assert client.post("/auth/sign-in", json={"message": "x", "signature": "0x00"},
                           environ_base=ABUSER).status_code == 400
    nonce = client.get("/auth/nonce", environ_base=ABUSER).get_json()["nonce"]
    refused = _sign_in_with(client, Account.create(), nonce, environ=ABUSER)
    assert refused.status_code == 429
    assert _sign_in_with(client, Account.create(), nonce, environ=HONEST).status_code == 200


def test_requests__budgeted_per_client__health_never(app_with, chain):
    app = app_with(requests_per_client=4)
    client = app.test_client()
    token = sign_in(client, chain.fund(), environ=ABUSER)  # sign-in has budgets of its own
    statuses = [client.get("/openapi.json", environ_base=ABUSER).status_code]  # a constant
    statuses += [client.get("/auth/session", headers=bearer(token), environ_base=ABUSER)
                 .status_code for _ in range(2)]
    statuses += [client.get("/patients/0x0/windows", environ_base=ABUSER).status_code
                 for _ in range(4)]
    assert statuses == [200, 200, 200, 400, 400, 429, 429]
    assert client.get("/healthz", environ_base=ABUSER).status_code == 200


def test_budgets__two_gateways_on_one_redis__draw_on_one_budget(app_with, redis_server):
    """Replicas over one store (processes: test_replicas.py)."""
    prefix = f"test:{time.monotonic_ns()}:"
    shared = [RedisState(redis_server.url, prefix=prefix, timeout_s=2) for _ in range(2)]
    replicas = [app_with(state=state, nonces_per_client=4, session_secret=_secret())
                .test_client() for state in shared]
    answers = [replicas[i % 2].get("/auth/nonce", environ_base=ABUSER).status_code
               for i in range(8)]
    assert answers == [200] * 4 + [429] * 4
    for state in shared:
        state.close()


def _secret():
    from pydantic import SecretStr

    return SecretStr("replicas-share-this")


class Stream:
    """A live stream read through the test client, chunk by chunk, in a thread of its own. Its
    client "leaves" as under the real server (serving.py): the environ's ClientGone is set."""

    def __init__(self, client, owner, token, **headers):
        self.gone = ClientGone()
        self.response = client.get(f"/patients/{owner}/live", buffered=False,
                                   headers={**bearer(token), **headers},
                                   environ_base={ENVIRON_KEY: self.gone})
        self.events: list[dict] = []
        self.ended = threading.Event()
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for chunk in self.response.response:
                text = chunk.decode()
                if text.startswith("id:"):
                    lines = dict(line.split(": ", 1) for line in text.strip().split("\n"))
                    self.events.append({"id": lines["id"], "event": lines.get("event"),
                                        **json.loads(lines["data"])})
        finally:
            self.response.close()  # what a server does after the last chunk, in this thread
            self.ended.set()

    def close(self):
        self.gone.set()
        assert self.ended.wait(10), "a stream whose client left ends at once"


def _patient_with_device(client, chain):
    patient = chain.fund()
    _, device_id, _ = register_device(client, patient)
    return patient, device_id


def _window(store, patient, device_id, start_ms):
    return store.put_window(patient.address.lower(), device_id, start_ms,
                            sample_payload(0, device_id=device_id, window_start_ms=start_ms))


def test_live__bounded_per_account_then_a_place_frees(app_with, chain):
    client = app_with(live_per_account=2).test_client()
    patient, _ = _patient_with_device(client, chain)
    token = sign_in(client, patient)
    first, second = Stream(client, patient.address, token), Stream(client, patient.address, token)
    third = Stream(client, patient.address, sign_in(client, patient))  # another session, same
    assert (first.response.status_code, second.response.status_code) == (200, 200)
    assert third.response.status_code == 429
    assert "for this account" in third.response.get_json()["message"]
    first.close()
    fourth = Stream(client, patient.address, token)
    assert fourth.response.status_code == 200
    second.close()
    fourth.close()


def test_live__bounded_per_client_address(app_with, chain):
    client = app_with(live_per_client=1).test_client()
    patients = [_patient_with_device(client, chain)[0] for _ in range(2)]
    tokens = [sign_in(client, p) for p in patients]
    kept = Stream(client, patients[0].address, tokens[0])
    refused = Stream(client, patients[1].address, tokens[1])
    assert kept.response.status_code == 200 and refused.response.status_code == 429
    assert "client address" in refused.response.get_json()["message"]
    kept.close()


def test_live__bounded_per_replica__503_busy(app_with, chain):
    app = app_with(live_total=2)
    client = app.test_client()
    patients = [_patient_with_device(client, chain)[0] for _ in range(3)]
    streams = [Stream(client, p.address, sign_in(client, p)) for p in patients]
    assert [s.response.status_code for s in streams] == [200, 200, 503]
    assert streams[2].response.get_json()["error"] == "busy"
    assert app.extensions["pulseledger_gateway"].live.open_count() == 2
    for stream in streams[:2]:
        stream.close()
    assert app.extensions["pulseledger_gateway"].live.open_count() == 0


def test_live__idle_stream_ends__resume_loses_nothing_repeats_nothing(app_with, chain, store):
    client = app_with(sse_idle_s=1.0).test_client()
    patient, device_id = _patient_with_device(client, chain)
    token = sign_in(client, patient)
    stream = Stream(client, patient.address, token)
    written = [_window(store, patient, device_id, 1_700_100_000_000)]
    assert stream.ended.wait(30), "an idle stream must end by itself"
    assert [e["record_id"] for e in stream.events] == [written[0].record_id]
    written += [_window(store, patient, device_id, 1_700_100_000_000 + i * 10_000)
                for i in range(1, 4)]  # while no stream is open
    resumed = Stream(client, patient.address, token, **{"Last-Event-ID": stream.events[-1]["id"]})
    assert resumed.ended.wait(30)
    assert [e["record_id"] for e in resumed.events] == [r.record_id for r in written[1:]]


def test_live__sign_out_ends_the_stream(app_with, chain):
    client = app_with().test_client()
    patient, _ = _patient_with_device(client, chain)
    token = sign_in(client, patient)
    stream = Stream(client, patient.address, token)
    assert stream.response.status_code == 200
    client.post("/auth/sign-out", headers=bearer(token))
    assert stream.ended.wait(10), "a signed-out session's stream ends at its next heartbeat"


def test_live__a_doctor_replaced_by_the_patient__loses_the_stream(app_with, chain):
    client = app_with().test_client()
    patient, _ = _patient_with_device(client, chain)
    old_doctor, new_doctor = chain.fund(), chain.fund()
    assert link_doctor(client, patient, old_doctor).status_code == 200
    stream = Stream(client, patient.address, sign_in(client, old_doctor))
    assert stream.response.status_code == 200
    assert link_doctor(client, patient, new_doctor).status_code == 200
    assert stream.ended.wait(10), "authorisation is re-checked every heartbeat"


def test_client_address__forwarded_for_believed_only_from_a_trusted_proxy(app_with):
    """Budgets key on the client address: an X-Forwarded-For from anyone but our own proxy is
    ignored (else one client could spread its requests over invented addresses)."""
    spoofing = app_with(nonces_per_client=2).test_client()
    answers = [spoofing.get("/auth/nonce", environ_base=ABUSER,
                            headers={"X-Forwarded-For": f"127.0.1.{i}"}).status_code
               for i in range(4)]
    assert answers == [200, 200, 429, 429]
    proxied = app_with(nonces_per_client=2, trusted_proxies=["127.0.0.66"]).test_client()
    answers = [proxied.get("/auth/nonce", environ_base=ABUSER,
                           headers={"X-Forwarded-For": f"127.0.1.{i % 2}"}).status_code
               for i in range(6)]
    assert answers == [200, 200, 200, 200, 429, 429]  # two clients behind the proxy, 2 each


def test_live__a_cursor_the_store_cannot_read__400_not_an_empty_stream(app_with, chain):
    """Last-Event-ID passes the route's character check but is no cursor of this store (not its
    digits, or beyond SQLite's integers): it was a 200 that ended at once, and a browser's
    EventSource reconnected with it every 2 s for ever."""
    client = app_with().test_client()
    patient, _ = _patient_with_device(client, chain)
    token = sign_in(client, patient)
    for cursor in ("abc", "9" * 40, "1e5"):
        stream = Stream(client, patient.address, token, **{"Last-Event-ID": cursor})
        assert stream.response.status_code == 400
        assert "cursor" in stream.response.get_json()["message"]
    fine = Stream(client, patient.address, token, **{"Last-Event-ID": "1"})
    assert fine.response.status_code == 200
    fine.close()


def test_live__a_cursor_older_than_the_log_keeps__reset_event_then_what_comes(app_with, chain,
                                                                                store):
    """Changes older than the retention are trimmed (docs/records.md, "The change log"). A
    client resuming from a cursor that trimmed changes followed gets a `reset` event first (what
    it shows may miss changes: reload), then the changes after it: not a silent gap, and not a
    4xx that would stop its reconnecting."""
    client = app_with(sse_idle_s=1.0).test_client()
    patient, device_id = _patient_with_device(client, chain)
    token = sign_in(client, patient)
    owner = patient.address.lower()
    _window(store, patient, device_id, 1_700_200_000_000)
    stale = store.latest_cursor(owner)
    _window(store, patient, device_id, 1_700_200_010_000)
    # what the storage peer's trim does a week later (the store's own call refuses a horizon
    # under a day; this store is the session's, and every change in it so far goes)
    assert store.tables.trim_changes(int(time.time() * 1000) + 1) >= 2

    stream = Stream(client, patient.address, token, **{"Last-Event-ID": stale})
    assert stream.response.status_code == 200
    later = _window(store, patient, device_id, 1_700_200_030_000)
    assert stream.ended.wait(30)
    assert [(e["event"], e.get("reason"), e.get("record_id")) for e in stream.events] == [
        ("reset", "cursor_expired", None), ("window_added", None, later.record_id)]
