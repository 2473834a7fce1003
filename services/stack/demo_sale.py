"""The demo's sale, as its people would make it, run by `pulseledger up` as a one-shot actor:

patient 0 approves the requester's open request by signature (the gateway relays it and pays the
gas) → once the market custodian has registered patient 0's first heart-rate bundle, the requester
buys it at the listed price, logs the access and fetches it (`buyer fetch`: wrapped key,
ciphertext, hash and inclusion proofs checked) → the gateway's delivery confirmation credits the
patient. Done once per deployment (remembered in the demo state file); every step is idempotent.

    python -m services.stack.demo_sale
"""

from __future__ import annotations

import time

from services.chain.eip712 import Decision
from services.chain.enums import ConsentStatus
from services.chain.log_ranges import log_ranges
from services.chain.settings import ChainSettings
from services.market import buyer as buying
from services.market.documents import HEART_RATE_WINDOWS
from services.stack import demo_people
from services.stack.actors import (
    DemoSettings,
    ledger_of,
    read_state,
    wait_for_gateway,
    write_state,
)
from services.stack.dev_accounts import REQUESTER_INDEX, dev_account
from services.stack.gateway_client import GatewayClient
from services.stack.wallet import send

CONSENT_PENDING = ConsentStatus.PENDING
PURCHASE_NONE = 0
POLL_S = 1.0
GATEWAY_CONFIRMATIONS = 1  # the gateway's default (PULSELEDGER_GATEWAY_CONFIRMATIONS)


def sell(settings: DemoSettings, timeout_s: float = 600.0) -> str:
    w3, ledger, deployments = ledger_of(settings)
    key = f"sale@{deployments.address()}"
    if key in read_state(settings.state_file):
        return "the demo sale was made before"
    wait_for_gateway(settings)
    deadline = time.monotonic() + timeout_s
    patient = demo_people.patients(settings.seed, 1)[0].account
    requester = dev_account(REQUESTER_INDEX)
    gateway = GatewayClient(settings.gateway_url)
    request_id = _wait(lambda: read_state(settings.state_file).get(f"request@{ledger.address}"),
                       deadline, "the requester's consent request")
    if _consent_status(ledger, request_id) == CONSENT_PENDING:
        gateway.relay_decision(
            patient, chain_id=w3.eth.chain_id, contract=ledger.address, request_id=request_id,
            decision=Decision.APPROVE, nonce=ledger.functions.nonces(patient.address).call(),
            deadline=w3.eth.get_block("latest")["timestamp"] + 600)
        print(f"patient 0 approved request {request_id} (gasless, relayed)", flush=True)
    span = ChainSettings().log_block_range
    record_id = _wait(lambda: first_record(ledger, deployments.deployment_block,
                                           patient.address, span), deadline,
                      "patient 0's first heart-rate bundle")
    purchase_id = request_id << 8 | HEART_RATE_WINDOWS
    if int(ledger.functions.getPurchase(purchase_id).call()[3]) == PURCHASE_NONE:  # status
        price = ledger.functions.priceOf(patient.address, HEART_RATE_WINDOWS).call()
        send(w3, requester, ledger.functions.purchase(request_id, HEART_RATE_WINDOWS, price),
             value=price)
        print(f"requester bought purchase {purchase_id} for {price} wei", flush=True)
    buying.log_access(ledger, requester, record_id, purchase_id, GATEWAY_CONFIRMATIONS)
    fetched = buying.fetch(gateway, ledger, requester, record_id, purchase_id)
    buying.save(fetched, settings.state_file.parent / "demo-sale")
    state = read_state(settings.state_file)
    state[key] = {"purchase_id": purchase_id, "record_id": record_id,
                  "delivery_tx": fetched.delivery_tx}
    write_state(settings.state_file, state)
    return (f"sale delivered: record {record_id[:12]}…, {fetched.verdict.windows} windows "
            f"verified, delivery tx {fetched.delivery_tx}")


def _consent_status(ledger, request_id: int) -> int:
    return int(ledger.functions.getRequest(request_id).call()[1])


def first_record(ledger, from_block: int, patient: str, span: int) -> str | None:
    """The patient's oldest heart-rate bundle, searched oldest piece first in pieces of `span`
    blocks (our proxy refuses longer eth_getLogs ranges); None when there is none yet."""
    for start, end in log_ranges(from_block, ledger.w3.eth.block_number, span):
        for entry in ledger.events.RecordAdded().get_logs(
                from_block=start, to_block=end, argument_filters={"patient": patient}):
            if entry["args"]["dataClass"] == HEART_RATE_WINDOWS:
                return "0x" + entry["args"]["recordId"].hex()
    return None


def _wait(probe, deadline: float, what: str):
    while (found := probe()) is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"the demo sale gave up waiting for {what}")
        time.sleep(POLL_S)
    return found


if __name__ == "__main__":
    print(sell(DemoSettings()), flush=True)
