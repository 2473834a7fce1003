"""The patient's export, from their side: ask the gateway to seal it, then register it on-chain
from their own wallet (the registry accepts the patient as the writer of their records)."""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from services.market import registration
from services.records import SellableRecord
from services.stack.gateway_client import GatewayClient, GatewayRefused


@dataclass(frozen=True)
class Export:
    record_id: str
    windows: int | None  # None: made before (same period), nothing new sealed
    tx: str | None  # None: registered before


def make_export(client: GatewayClient, ledger: Contract, patient, from_ms: int,
                to_ms: int) -> Export:
    token = client.sign_in(patient)
    response = client.post(f"/patients/{patient.address}/exports",
                           {"from_ms": from_ms, "to_ms": to_ms}, token)
    if response.status_code not in (200, 201):
        raise GatewayRefused(response)
    answer = response.json()
    record = SellableRecord(answer["record_id"], patient.address.lower(), answer["pointer"],
                            bytes.fromhex(answer["ciphertext_sha256"][2:]), answer["data_class"],
                            answer["version"], 0)
    tx = None
    if registration.registration_of(ledger, record.bundle_id).status == registration.RECORD_NONE:
        tx = registration.register_bundle(ledger, patient, record,
                                          bytes.fromhex(answer["salt"][2:]))
    return Export(record.bundle_id, answer.get("windows"), tx)
