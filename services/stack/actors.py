"""The demo's actors, run by `pulseledger up` as one-shot components:

    python -m services.stack.actors onboard     # patients onboard their wearables via the gateway
    python -m services.stack.actors request     # a requester asks patient 0 for access
    python -m services.stack.actors stream      # their wearables stream signed readings (and a
                                                # spare one, once a new patient pairs it)

Both are idempotent across restarts (the gateway's registrations are; the request is made once per
deployment, remembered in the state file).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import requests
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chain.connection import ledger_contract
from services.chain.deployments import load_deployments
from services.chain.enums import DataClass
from services.gateway.email_confirmations import secrets_in
from services.ingest.device_identity import peer_id_for
from services.notify import NotifySettings
from services.notify.outbox import plain_text, read_outbox
from services.stack import demo_people
from services.stack.dev_accounts import REQUESTER_INDEX, dev_account
from services.stack.gateway_client import GatewayClient
from services.stack.wallet import fund_on_dev_chain, send

HEART_RATE_WINDOWS, PREDICTIONS_ALERTS, EXPORTS = (
    DataClass.HEART_RATE_WINDOWS, DataClass.PREDICTIONS_ALERTS, DataClass.EXPORTS)
DEMO_PRICE_WEI = 10**15
# Every demo patient prices what the market custodian seals for them (and patient 0 exports too).
DEMO_PRICED_CLASSES = (HEART_RATE_WINDOWS, PREDICTIONS_ALERTS)
PURPOSE_RESEARCH = b"HRESCH".ljust(32, b"\0")  # HL7 PurposeOfUse: healthcare research
# The demo request covers what the sale buys (heart-rate windows) and what patient 0 exports.
DEMO_REQUESTED_CLASSES = 1 << HEART_RATE_WINDOWS | 1 << EXPORTS
REQUESTER_EMAIL = "requester@demo.pulseledger.invalid"


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_DEMO_", extra="ignore")

    gateway_url: str = "http://127.0.0.1:8600"
    market_custodian: str | None = None  # address the patients authorise to register bundles
    rpc_url: str = "http://127.0.0.1:8545"
    deployments: Path = Path(".pulseledger/deployments.json")
    seed: str = "pulseledger-demo"
    users: int = 4
    local_chain: bool = True  # fund demo accounts with anvil_setBalance
    state_file: Path = Path(".pulseledger/demo.json")
    wait_s: float = 60.0
    # Wearables
    irregular_users: int = 1
    seconds: int = 3600
    batch: int = 1
    fast: bool = False
    peers_dir: Path = Path(".pulseledger/peers")


def wait_for_gateway(settings: DemoSettings) -> None:
    deadline = time.monotonic() + settings.wait_s
    while time.monotonic() < deadline:
        try:
            if requests.get(settings.gateway_url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("the gateway did not become healthy in time")


def ledger_of(settings: DemoSettings):
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(settings.rpc_url))
    deployments = load_deployments(settings.deployments)
    return w3, ledger_contract(w3, deployments), deployments


def onboard(settings: DemoSettings) -> None:
    """Each patient registers their wearable, sets a contact address and links the doctor; on
    the chain, each authorises the market custodian and prices heart-rate windows and screen
    results (the custodian seals bundles of those); the first patient also prices exports."""
    wait_for_gateway(settings)
    client = GatewayClient(settings.gateway_url)
    doctor, doctor_email = demo_people.doctor(settings.seed)
    people = demo_people.patients(settings.seed, settings.users)
    inbox = DemoInbox(client)
    for patient in people:
        client.register_device(patient.account, patient.device)
        client.set_contacts(patient.account, [patient.email])
        client.link_doctor(patient.account, doctor.address, doctor_email)
        # before the next device is paired: the wearables start once the last one is, and an
        # alert finds only confirmed addresses
        inbox.open_links({patient.email, doctor_email})
    w3, ledger, _ = ledger_of(settings)
    for patient in people:
        account = patient.account
        if settings.local_chain:
            fund_on_dev_chain(w3, account.address)
        classes = DEMO_PRICED_CLASSES + ((EXPORTS,) if patient.index == 0 else ())
        for data_class in classes:
            if ledger.functions.priceOf(account.address, data_class).call() != DEMO_PRICE_WEI:
                send(w3, account, ledger.functions.setPrice(data_class, DEMO_PRICE_WEI))
        custodian = settings.market_custodian
        if custodian and not ledger.functions.isCustodianFor(account.address, custodian).call():
            send(w3, account, ledger.functions.authorizeCustodian(custodian, True))
    print(f"onboarded {len(people)} patients", flush=True)


def stream(settings: DemoSettings) -> None:
    """The demo patients' wearables: signed readings into the ingest queue, 1 Hz each (or, with
    `fast`, `seconds` of past readings at once). Devices are onboarded by `onboard` through the
    gateway first; the keys are the simulator's own derivation from the same seed."""
    from services.ingest.queues.factory import open_queue
    from services.ingest.settings import ingest_settings_for
    from services.ingest.simulator import make_fleet, run

    onboarded = _wait_for_devices(settings)
    # The spare wearable waits for a new patient in its own thread (one process fewer to start).
    threading.Thread(target=spare, args=(settings,), name="spare-wearable", daemon=True).start()
    # Sequence numbers carry on across restarts (a seq seen before with other readings would be
    # a replay): start from the clock in milliseconds, which runs far ahead of any device's count.
    fleet = make_fleet(settings.users, settings.irregular_users / max(1, settings.users),
                       settings.seed, start_seq=int(time.time() * 1000))
    queue = open_queue(ingest_settings_for(settings.peers_dir))
    try:
        written = run(queue, fleet, settings.seconds, settings.batch, realtime=not settings.fast)
    finally:
        queue.close()
    print(f"streamed {written} readings from {len(fleet)} wearables ({onboarded})", flush=True)


def spare(settings: DemoSettings) -> None:
    """A wearable nobody has paired: a developer pairs it in the dapp as a new patient (`up`
    prints its pairing link). It waits, sending nothing (an unpaired device's readings would only
    be dead-lettered), and streams 1 Hz readings from the moment the gateway has it registered."""
    from services.ingest.queues.factory import open_queue
    from services.ingest.settings import ingest_settings_for
    from services.ingest.simulator import make_fleet, run
    from services.records import RecordsSettings, open_store

    device = make_fleet(settings.users + 1, 0.0, settings.seed,
                        start_seq=int(time.time() * 1000))[-1]
    print(f"spare wearable {device.user_id} waits to be paired", flush=True)
    with open_store(RecordsSettings()) as store:
        while (paired := store.get_device(device.user_id)) is None:
            time.sleep(1.0)
    print(f"spare wearable paired to {paired.owner[:10]}…; streaming", flush=True)
    queue = open_queue(ingest_settings_for(settings.peers_dir))
    try:
        written = run(queue, [device], settings.seconds, settings.batch, realtime=True)
    finally:
        queue.close()
    print(f"streamed {written} readings from the spare wearable", flush=True)


def _wait_for_devices(settings: DemoSettings) -> str:
    """Readings from a device nobody registered are dead-lettered: wait for the onboarding."""
    from services.records import RecordsSettings, open_store

    deadline = time.monotonic() + settings.wait_s
    last = peer_id_for(demo_people.patients(settings.seed, settings.users)[-1].device_key)
    with open_store(RecordsSettings()) as store:
        while store.get_device(last) is None:
            if time.monotonic() > deadline:
                raise SystemExit("the demo devices were not onboarded in time")
            time.sleep(0.5)
    return "devices onboarded"


class DemoInbox:
    """The demo's people confirm their addresses as a person would: they open the links the
    gateway mailed them (docs/gateway.md, "Confirming an address"). Their mailboxes are the
    outbox folder of `make up`'s embedded default; with another mail system the addresses stay
    waiting (the demo's are .invalid), and no alert email goes out for them. Only mail of this
    run is read, each link once."""

    def __init__(self, client: GatewayClient):
        self.client, self.notify = client, NotifySettings()
        self.since_ns = time.time_ns() - 1_000_000_000  # a file system's coarse mtime
        self.opened: set[str] = set()
        if self.notify.backend != "outbox":
            print(f"mail goes by {self.notify.backend}: demo addresses stay unconfirmed",
                  flush=True)

    def open_links(self, mailboxes: set[str]) -> int:
        if self.notify.backend != "outbox":
            return 0
        fresh = [secret for message in read_outbox(self.notify.outbox_dir, to=mailboxes,
                                                   since_ns=self.since_ns)
                 for secret in secrets_in(plain_text(message)) if secret not in self.opened]
        self.opened.update(fresh)
        return sum(self.client.confirm_email(secret) for secret in fresh)


def request_access(settings: DemoSettings) -> None:
    w3, ledger, deployments = ledger_of(settings)
    state = read_state(settings.state_file)
    key = f"request@{deployments.address()}"
    if key in state:
        print(f"consent request {state[key]} already open", flush=True)
        return
    requester = dev_account(REQUESTER_INDEX)
    wait_for_gateway(settings)  # the requester's contact address, for the relay's emails
    client = GatewayClient(settings.gateway_url)
    inbox = DemoInbox(client)
    client.set_contacts(requester, [REQUESTER_EMAIL])
    inbox.open_links({REQUESTER_EMAIL})
    patient = demo_people.patients(settings.seed, 1)[0].account
    now = w3.eth.get_block("latest")["timestamp"]
    receipt = send(w3, requester, ledger.functions.requestConsent(
        patient.address, PURPOSE_RESEARCH, DEMO_REQUESTED_CLASSES, now, now + 30 * 24 * 3600,
        os.urandom(32)))
    request_id = ledger.events.ConsentRequested().process_receipt(receipt)[0]["args"]["requestId"]
    state[key] = request_id
    write_state(settings.state_file, state)
    print(f"consent request {request_id} opened", flush=True)


def read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, path)


ACTIONS = {"onboard": onboard, "request": request_access, "stream": stream, "spare": spare}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ACTIONS:
        raise SystemExit(f"usage: python -m services.stack.actors {{{','.join(ACTIONS)}}}")
    ACTIONS[sys.argv[1]](DemoSettings())
