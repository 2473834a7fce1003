"""A programmatic buyer's fetch: the record key wrapped to the buyer's own secp256k1 key (ECIES),
the sealed bundle, both checked locally against the chain before anything is trusted.

Steps (the gateway serves nothing before the buyer's AccessLogged is confirmed on-chain):
logAccess(recordId, purchaseId) → sign in → POST /records/<id>/key → GET /records/<id>/ciphertext
→ sha256(sealed) == the registry's ciphertextHash → unwrap the key, decrypt → every window's
inclusion proof leads to a batch root anchored on-chain → the subject marker replaced by the
pseudonym of the purchase the gateway sent (services/market/pseudonyms.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_keys import keys
from web3.contract import Contract

from services.gateway import ecies
from services.market import pseudonyms, registration
from services.market.verify import Verdict, check_sealed, verify_document
from services.records import crypto
from services.stack.gateway_client import GatewayClient, GatewayRefused
from services.stack.wallet import send


class FetchFailed(RuntimeError):
    """The bundle was not delivered, or failed a check: nothing was written."""


@dataclass(frozen=True)
class Fetched:
    document: dict[str, Any]
    sealed: bytes
    verdict: Verdict
    delivery_tx: str | None


def anchored_on(ledger: Contract):
    """Is a batch root anchored on this chain? (BatchAnchor's custodian is non-zero.)"""
    def anchored(root: bytes) -> bool:
        return int(ledger.functions.batchAnchor(root).call()[0], 16) != 0
    return anchored


def log_access(ledger: Contract, buyer, record_id: str, purchase_id: int,
               confirmations: int, timeout_s: float = 60.0) -> str:
    """Send logAccess and wait until the gateway's confirmation depth is reached."""
    receipt = send(ledger.w3, buyer, ledger.functions.logAccess(bytes.fromhex(record_id[2:]),
                                                                purchase_id))
    deadline = time.monotonic() + timeout_s
    while ledger.w3.eth.block_number - receipt["blockNumber"] + 1 < confirmations:
        if time.monotonic() > deadline:
            raise FetchFailed("logAccess was mined but not confirmed in time")
        time.sleep(0.2)
    return receipt["transactionHash"].to_0x_hex()


def fetch(client: GatewayClient, ledger: Contract, buyer, record_id: str,
          purchase_id: int) -> Fetched:
    token = client.sign_in(buyer)
    public_key = "0x" + keys.PrivateKey(bytes(buyer.key)).public_key.to_bytes().hex()
    response = client.post(f"/records/{record_id}/key",
                           {"purchase_id": purchase_id, "public_key": public_key}, token)
    if response.status_code != 200:
        raise FetchFailed(str(GatewayRefused(response)))
    wrapped = response.json()
    response = client.get(f"/records/{record_id}/ciphertext", token,
                          params={"purchase_id": purchase_id})
    if response.status_code != 200:
        raise FetchFailed(str(GatewayRefused(response)))
    sealed = response.content
    problem = check_sealed(sealed, registration.registration_of(ledger, record_id).ciphertext_hash)
    if problem:
        raise FetchFailed(problem)
    key = ecies.unwrap(ecies.private_key_from_eth(bytes(buyer.key)),
                       bytes.fromhex(wrapped["wrapped_key"][2:]),
                       bytes.fromhex(record_id[2:]))
    plaintext = crypto.open_sealed(key, sealed,
                                   bytes.fromhex(wrapped["record_associated_data"][2:]))
    try:
        plaintext = pseudonyms.label(plaintext, str(wrapped.get("subject")))
    except ValueError:
        raise FetchFailed("the gateway sent no valid subject pseudonym for this purchase") from None
    document = json.loads(plaintext)
    verdict = verify_document(document, anchored_on(ledger))
    if not verdict.ok:
        raise FetchFailed("; ".join(verdict.problems) or "the bundle has no windows")
    return Fetched(document, sealed, verdict, wrapped.get("delivery_tx"))


def save(fetched: Fetched, out: Path) -> list[Path]:
    """bundle.json (the whole document, what `pulseledger verify` reads), the FHIR Bundle and
    each CSV table, and the sealed bytes (what the registry's hash names)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = fetched.document["bundle_id"][2:18]
    files = {out / f"{stem}.bundle.json": json.dumps(fetched.document, indent=1),
             out / f"{stem}.fhir.json": json.dumps(fetched.document["fhir"], indent=1)}
    for name, text in fetched.document.get("csv", {}).items():
        files[out / f"{stem}.{name}.csv"] = text
    for path, text in files.items():
        path.write_text(text)
    sealed = out / f"{stem}.sealed"
    sealed.write_bytes(fetched.sealed)
    return [*files, sealed]
