"""The dapp's end-to-end stack: a real anvil with PulseLedger deployed, a SQLite record store with a
patient's heart-rate windows (anchored on-chain the way the storage peers do it), the real gateway
(Flask app served by werkzeug on a free 127.0.0.1 port, with its own account for relays and
deliveries), and one sellable export the patient made on the production path: the gateway seals
it (`POST /patients/{patient}/exports`) and the patient's wallet registers it (`addRecord`), as
`pulseledger market export` does (services/market/exports.py). Nothing is seeded into the store.

The patient has linked a doctor; a spare wearable (its peer id printed, as the simulator shows it)
is not paired with anyone yet, for a new patient to pair in the dapp. With `--market` a requester
has also asked the patient for exports, been approved and paid, so every email has a real page.

The Node e2e harness (frontend/e2e/stack.mjs) starts this as a child process and reads one JSON
line from stdout. Commands on stdin, each answered with one JSON line: `window` stores one more
window for the patient (to see the live stream), `spare-window` one for the spare wearable (under
whoever paired it), `mailbox ADDRESS` answers the links the gateway mailed to ADDRESS (its
confirmation links), `stop-link OWNER ADDRESS` the link an alert email to ADDRESS ends with,
`links DAPP_URL` renders every email the story sends and answers their links,
`mine N` mines blocks; end of stdin shuts everything down (the gateway, the store, anvil).

    uv run python -m tests.dapp.stack --cors-origin http://127.0.0.1:PORT [--market]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from eth_account import Account
from pydantic import SecretStr
from werkzeug.serving import make_server

from services.alerts import NOTIFIED, AlertSettings, Window, episode_events
from services.alerts.emails import Patient, episode_emails
from services.gateway.app import create_app
from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.gateway.wiring import chain_identity
from services.ingest.device_identity import DeviceKey, peer_id_for
from services.ingest.pairing import pairing_code
from services.market.exports import make_export
from services.notify import NotifySettings
from services.notify.outbox import plain_text, read_outbox
from services.notify.stop_links import StopLinks
from services.peers.anchoring import Web3BatchAnchor
from services.records import RecordsSettings, merkle, open_store
from services.records.window_payload import sample_payload
from services.stack.gateway_client import GatewayClient
from tests.dapp.email_catalog import DOCTOR_EMAIL, LINK, PATIENT_EMAIL, PRICE, every_email
from tests.gateway.chain_helpers import deploy, start_anvil

EXPORTS = 2
# What the buyer's dapp shows of the export (the sealed bundle document, JSON without spaces)
EXPORT_TEXT = '"data_class":"EXPORTS"'


def window_payload(device_id: str, start_ms: int, index: int) -> dict:
    """Synthetic readings (no real person's data) in the peers' window record format. Windows
    from the third on are predicted irregular, so the gateway's 5-of-6 rule raises one alert over
    the first eight."""
    return sample_payload(index, device_id=device_id, window_start_ms=start_ms,
                          irregular=index >= 2)


def anchor_windows(store, chain) -> None:
    """Batch the stored windows and anchor the root as a registered storage custodian, with the
    storage peers' own steps (services/peers/roles/storage.py `anchor_pending`)."""
    custodian = chain.fund()
    chain.send(chain.owner, chain.contract.functions.setCustodian(custodian.address, True))
    anchor = Web3BatchAnchor(chain.url, chain.contract.address, custodian.key.to_0x_hex())
    pending = store.pending_unbatched(1000)
    root, proofs = merkle.build([ref.ciphertext_sha256 for ref in pending])
    store.record_batch(root, [ref.record_id for ref in pending], proofs, None)
    store.mark_batch_anchored(root, anchor.anchor_batch(root, len(pending)))


def _market(chain, patient, buyer) -> int:
    """Request #1: the buyer asks for exports, the patient approves, the buyer pays."""
    functions = chain.contract.functions
    chain.send(patient, functions.setPrice(EXPORTS, PRICE))
    now = chain.now()
    chain.send(buyer, functions.requestConsent(patient.address, b"HRESCH".ljust(32, b"\0"),
                                               1 << EXPORTS, now - 60, now + 30 * 86400,
                                               os.urandom(32)))
    chain.send(patient, functions.approve(1))
    chain.send(buyer, functions.purchase(1, EXPORTS, PRICE), value=PRICE)
    return (1 << 8) | EXPORTS


def email_links(dapp_url: str, store, patient: str, buyer: str,
                purchase_id: int | None) -> list[dict]:
    """Every email the system sends (tests/dapp/email_catalog.py: the real templates, every kind,
    refund reason and notice) about this story's request #1 and purchase, and the alert emails of
    the episode the seeded windows really raise (`kind` alert / alert_to_doctor, with `at`)."""
    emails = []
    windows = [Window(meta.window_start_ms, store.get_window(meta.record_id)["prediction"]["status"],
                      meta.record_id)
               for meta in store.list_windows(patient.lower(), limit=1000) if not meta.erased]
    for event in episode_events(windows, AlertSettings()):
        if event.kind not in NOTIFIED:
            continue
        for email in episode_emails(event, Patient(patient), [PATIENT_EMAIL], DOCTOR_EMAIL,
                                    dapp_url):
            to_doctor = email.to == (DOCTOR_EMAIL,)
            emails.append({"kind": "alert_to_doctor" if to_doctor else "alert",
                           "variant": event.kind, "to": "doctor" if to_doctor else "patient",
                           "page": "patient", "links": LINK.findall(email.text),
                           "at": event.window_start_ms})
    if purchase_id is not None:
        at = emails[0]["at"] if emails else int(time.time() * 1000)
        emails += [email for email in every_email(dapp_url, patient, buyer, 1, purchase_id, at)
                   if not email["kind"].startswith("alert")]
    return emails


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cors-origin", action="append", default=[])
    parser.add_argument("--confirmations", type=int, default=1)
    parser.add_argument("--market", action="store_true",
                        help="a requester asks for exports, is approved and pays (request #1)")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="pulseledger-dapp-e2e-"))
    anvil, rpc_url = start_anvil()
    try:
        gateway_account = Account.create()
        chain = deploy(rpc_url, gateway_account.address, workdir)
        chain.w3.provider.make_request("anvil_setBalance", [gateway_account.address, hex(10**21)])
        patient, buyer, other, doctor = chain.fund(), chain.fund(), chain.fund(), chain.fund()
        newcomer = Account.create()  # unfunded: onboarding costs no gas

        settings = GatewaySettings(
            rpc_url=rpc_url, deployments=chain.deployments, confirmations=options.confirmations,
            gateway_key=SecretStr(gateway_account.key.to_0x_hex()),
            session_secret=SecretStr(base64.b64encode(os.urandom(24)).decode()),
            domain="127.0.0.1", uri="http://127.0.0.1", cors_origins=options.cors_origin,
            relay_per_patient=20, relay_per_ip=50, tx_timeout_s=10, sse_heartbeat_s=0.5,
            sse_max_duration_s=2,  # short streams, so the e2e sees the dapp reconnect
            # confirmation links land in the outbox, pointing at the dapp the e2e serves
            notify=NotifySettings(outbox_dir=workdir / "outbox"),
            dapp_url=(options.cors_origin or ["http://127.0.0.1:5173"])[0] + "/")
        ledger = Ledger(settings)
        records = RecordsSettings(
            sqlite_dir=workdir / "records", master_key_file=None,
            master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
            create_master_key=False, watch_poll_interval_s=0.1)
        store = open_store(records, chain_identity(ledger))

        device_key = os.urandom(32)  # stands in for an Ed25519 public key: only its peer id is used
        device_id = peer_id_for(device_key)
        store.register_device(device_id, patient.address.lower(), device_key)
        store.link_doctor(patient.address.lower(), doctor.address.lower(), DOCTOR_EMAIL)
        # a wearable nobody has paired yet: a real key, as pairing refuses bytes that are none
        spare = DeviceKey.generate()
        spare_id = spare.user_id
        # what its screen shows beside its id: its consent to be paired (ingest/pairing.py)
        spare_code = pairing_code(spare, int(time.time() * 1000) + 86_400_000)
        start_ms = int(time.time() * 1000) - 8 * 60_000
        for index in range(8):
            start = start_ms + index * 60_000
            store.put_window(patient.address.lower(), device_id, start,
                             window_payload(device_id, start, index))

        anchor_windows(store, chain)

        purchase_id = _market(chain, patient, buyer) if options.market else None

        app = create_app(settings, ledger=ledger, store=store)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        gateway_url = f"http://127.0.0.1:{server.server_port}"
        # the patient's export of the eight windows, made as `pulseledger market export` makes it
        record_id = make_export(GatewayClient(gateway_url), chain.contract, patient, start_ms,
                                start_ms + 8 * 60_000).record_id

        print(json.dumps({
            "rpcUrl": rpc_url, "gatewayUrl": gateway_url,
            "chainId": chain.w3.eth.chain_id, "contract": chain.contract.address,
            "deploymentBlock": json.loads(chain.deployments.read_text())["deployment_block"],
            "deployments": str(chain.deployments), "recordId": record_id, "exportText": EXPORT_TEXT,
            "keys": {"patient": patient.key.to_0x_hex(), "buyer": buyer.key.to_0x_hex(),
                     "other": other.key.to_0x_hex(), "doctor": doctor.key.to_0x_hex(),
                     "newcomer": newcomer.key.to_0x_hex()},
            "doctor": doctor.address, "doctorEmail": DOCTOR_EMAIL, "spareDevice": spare_id,
            "spareCode": spare_code,
            "purchaseId": purchase_id,
        }), flush=True)

        next_window = 8
        for line in sys.stdin:
            command = line.split()
            if command[:1] == ["window"]:
                start = start_ms + next_window * 60_000
                store.put_window(patient.address.lower(), device_id, start,
                                 window_payload(device_id, start, next_window))
                next_window += 1
            elif command[:1] == ["spare-window"]:
                device = store.get_device(spare_id)
                if device is None:
                    print(json.dumps({"error": "the spare wearable is not paired"}), flush=True)
                    continue
                start = int(time.time() * 1000) - 30_000
                store.put_window(device.owner, spare_id, start, window_payload(spare_id, start, 0))
            elif command[:1] == ["mine"]:
                chain.mine(int(command[1]) if len(command) > 1 else 1)
            elif command[:1] == ["mailbox"]:
                # the confirmation links mailed to one address, newest last (its owner's inbox)
                links = [LINK.findall(plain_text(m)) for m in read_outbox(workdir / "outbox")
                         if m["To"] == command[1]]
                print(json.dumps({"done": "mailbox", "links": [x for ls in links for x in ls]}),
                      flush=True)
                continue
            elif command[:1] == ["stop-link"]:
                # the link the notification peers end each alert email to ADDRESS with
                owner, address = command[1].lower(), command[2]
                link = StopLinks(store, owner, address).link(settings.dapp_url)
                print(json.dumps({"done": "stop-link", "link": link}), flush=True)
                continue
            elif command[:1] == ["links"]:
                links = email_links(command[1], store, patient.address, buyer.address,
                                    purchase_id)
                print(json.dumps({"done": "links", "links": links}), flush=True)
                continue
            print(json.dumps({"done": command[0] if command else ""}), flush=True)
        server.shutdown()
        store.close()
    finally:
        anvil.terminate()
        anvil.wait(timeout=10)


if __name__ == "__main__":
    main()
