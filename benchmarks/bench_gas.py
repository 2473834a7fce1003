"""Gas of every user-facing operation, from receipts on a fresh anvil → benchmarks/gas.json.

gasUsed includes the 21,000 intrinsic gas. Purchases are measured for a first-time buyer. The
1-vs-1,000-grants figures show that revoke and purchase do not grow with a patient's grants.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from eth_account import Account
from web3 import Web3

from services.chain.artifacts import deploy, load_artifact
from services.chain.eip712 import Decision, sign_consent_decision
from services.chain.record_registry import RecordRegistration, add_record_call, location_digest
from services.stack.anvil import Anvil, free_port

OUT = Path(__file__).with_name("gas.json")
MNEMONIC = "test test test test test test test test test test test junk"
HEART_RATE_WINDOWS = 0
PRICE = Web3.to_wei(0.01, "ether")
DAY = 24 * 3600
GRANTS = 1000

Account.enable_unaudited_hdwallet_features()


def key(index: int) -> str:
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex()


class Bench:
    def __init__(self, w3: Web3, ledger):
        self.w3, self.ledger = w3, ledger

    def send(self, call, sender: str, value: int = 0) -> dict:
        tx_hash = call.transact({"from": sender, "value": value})
        # anvil automines: the receipt exists as soon as the hash is back; poll tightly.
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)
        assert receipt.status == 1, f"transaction reverted: {call.fn_name}"
        return receipt

    def gas(self, call, sender: str, value: int = 0) -> int:
        return self.send(call, sender, value).gasUsed

    def now(self) -> int:
        return self.w3.eth.get_block("latest").timestamp

    def request(self, patient: str, requester: str, classes: int = 0b111) -> tuple[int, int]:
        f = self.ledger.functions
        now = self.now()
        receipt = self.send(f.requestConsent(patient, b"HRESCH".ljust(32, b"\0"), classes,
                                             now, now + 30 * DAY, b"\x11" * 32), requester)
        event = self.ledger.events.ConsentRequested().process_receipt(receipt)[0]
        return event.args.requestId, receipt.gasUsed


def measure(w3: Web3, accounts: list[str]) -> dict[str, int]:
    owner, gateway, patient, buyer, custodian, relayer, buyer2, buyer3 = accounts[:8]
    artifact = load_artifact()
    ledger = deploy(w3, artifact, gateway, 3600, sender=owner)
    b, f = Bench(w3, ledger), ledger.functions
    figures: dict[str, int] = {"bytecode_size_bytes": len(w3.eth.get_code(ledger.address))}

    figures["set_price_gas"] = b.gas(f.setPrice(HEART_RATE_WINDOWS, PRICE), patient)
    request_id, figures["request_gas"] = b.request(patient, buyer)
    figures["approve_gas"] = b.gas(f.approve(request_id), patient)
    figures["purchase_gas"] = b.gas(f.purchase(request_id, HEART_RATE_WINDOWS, PRICE), buyer, PRICE)
    purchase_id = (request_id << 8) | HEART_RATE_WINDOWS
    registration = RecordRegistration(
        patient, Web3.keccak(text="bench-salt"), Web3.keccak(text="ciphertext"),
        location_digest("ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"),
        Web3.keccak(text="dag-root"), HEART_RATE_WINDOWS)
    record_id = registration.record_id
    figures["add_record_gas"] = b.gas(add_record_call(ledger, registration), patient)
    figures["log_access_gas"] = b.gas(f.logAccess(record_id, purchase_id), buyer)
    figures["confirm_delivery_gas"] = b.gas(f.confirmDelivery(purchase_id), gateway)
    figures["withdraw_gas"] = b.gas(f.withdraw(), patient)

    signed_request, _ = b.request(patient, buyer2)
    deadline = b.now() + DAY
    signature = sign_consent_decision(
        key(accounts.index(patient)), chain_id=w3.eth.chain_id, verifying_contract=ledger.address,
        request_id=signed_request, decision=Decision.APPROVE, nonce=f.nonces(patient).call(),
        deadline=deadline)
    figures["approve_by_signature_gas"] = b.gas(
        f.decideBySig(signed_request, int(Decision.APPROVE), deadline, signature), relayer)

    denied_request, _ = b.request(patient, buyer3)
    figures["deny_gas"] = b.gas(f.deny(denied_request), patient)

    figures["revoke_gas"] = b.gas(f.revoke(signed_request), patient)

    refund_request, _ = b.request(patient, buyer3)
    b.send(f.approve(refund_request), patient)
    refund_purchase = b.send(f.purchase(refund_request, HEART_RATE_WINDOWS, PRICE), buyer3, PRICE)
    refund_id = ledger.events.PurchasePaid().process_receipt(refund_purchase)[0].args.purchaseId
    b.send(f.revoke(refund_request), patient)
    figures["reclaim_gas"] = b.gas(f.reclaim(refund_id), buyer3)

    b.send(f.setCustodian(custodian, True), owner)
    figures["anchor_batch_gas"] = b.gas(f.anchorBatch(Web3.keccak(text="batch-root"), 1024), custodian)

    figures.update(scaling(w3, b, accounts))
    return figures


def scaling(w3: Web3, b: Bench, accounts: list[str]) -> dict[str, int]:
    """The same revoke and first-time purchase for a patient with 1 grant and with 1,000."""
    f = b.ledger.functions
    figures = {}
    for label, patient, requesters in (("1", accounts[8], accounts[10:11]),
                                       (str(GRANTS), accounts[9], accounts[10:10 + GRANTS])):
        b.send(f.setPrice(HEART_RATE_WINDOWS, PRICE), patient)
        last = None
        for requester in requesters:
            last, _ = b.request(patient, requester)
            b.send(f.approve(last), patient)
        figures[f"purchase_{label}_grants_gas"] = b.gas(
            f.purchase(last, HEART_RATE_WINDOWS, PRICE), requesters[-1], PRICE)
        figures[f"revoke_{label}_grants_gas"] = b.gas(f.revoke(last), patient)
    return figures


def main() -> None:
    started = time.monotonic()
    # 1,010 funded accounts take anvil a while to derive on a busy machine: wait longer than the default.
    chain = Anvil(port=free_port(), extra_args=["--accounts", str(10 + GRANTS), "--silent"])
    with chain.start(ready_timeout_s=180):
        w3 = Web3(Web3.HTTPProvider(chain.url))
        figures = measure(w3, w3.eth.accounts)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"gas benchmark written to {OUT} in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
