"""Replication receipts: a replica's signed word that it durably holds what a primary
acknowledged — so a primary aggregator that acknowledges a master's readings without replicating
them (its replica would have nothing to compare, docs/peers.md) gets nothing completed.

The replica, merging readings a primary replicated on ingest, signs with its own peer key
`{"aggregator": its id, "credential": its credential document, "body": {"primary": the
primary's id, "devices": [[device, readings digest], ...]}, "sig"}`. A device's readings digest
is sha256 over its readings' sorted, distinct (seq, content digest) — the content digest being
the window store's keyed digest of heart rate, time and RR (digest_of, the one attestations
carry), recomputed by the replica from what it merged and compared with what it holds. No heart
rate is in a receipt, and a receipt names no reading it does not cover.

The master recomputes each device's digest from the readings it sent that primary in the call
(less those reported rejected) and counts them acknowledged only if a receipt it can verify
(services/peers/peer_signed.py: an admitted aggregator's credential, not expired, not revoked,
key = signer) from an aggregator other than the primary carries the same digest."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from services.ingest.reading import b64, canonical
from services.peers.admission.credential import Refused
from services.peers.peer_signed import PeerSignedCheck

KIND = "receipt"


def readings_digest(entries: Iterable[tuple[int, str]]) -> str:
    """sha256 over the distinct (seq, content digest) of one device, sorted, one line each."""
    lines = "".join(f"{seq} {digest}\n" for seq, digest in sorted(set(entries)))
    return hashlib.sha256(lines.encode()).hexdigest()


def signed_bytes(body) -> bytes:
    return canonical({"kind": KIND, "body": body})


def sign_receipt(key_pair, aggregator_id: str, credential: dict, primary: str,
                 held: dict[str, set[tuple[int, str]]]) -> dict:
    """The replica's receipt over `held`: device -> {(seq, content digest)} it merged and holds."""
    body = {"primary": primary,
            "devices": [[device, readings_digest(held[device])] for device in sorted(held)]}
    return {"aggregator": aggregator_id, "credential": credential, "body": body,
            "sig": b64(key_pair.private_key.sign(signed_bytes(body)))}


class ReceiptCheck:
    def __init__(self, operator, revocations):
        self._signed = PeerSignedCheck(operator, revocations, role="aggregation",
                                       signer_field="aggregator", signed_bytes=signed_bytes,
                                       wrong_role="not_an_aggregator")

    def receipted_devices(self, receipts: list, primary: str) -> tuple[dict[str, set[str]], list]:
        """device -> the readings digests receipted for `primary` by other admitted aggregators,
        and the refusal reasons of the receipts that did not count."""
        digests: dict[str, set[str]] = defaultdict(set)
        refused = []
        for receipt in receipts:
            try:
                signer, body, credential = self._signed.verified(receipt)
                if not credential.current():
                    raise Refused("expired")
                if signer == primary:
                    raise Refused("signed_by_primary")
                if body["primary"] != primary:
                    raise Refused("other_primary")
                devices = [(str(device), str(digest)) for device, digest in body["devices"]]
                for device, digest in devices:
                    digests[device].add(digest)
            except Refused as exc:
                refused.append(exc.reason)
            except Exception:  # a signed body of another shape  # noqa: BLE001
                refused.append("malformed")
        return digests, refused

    def covered(self, receipts: list, primary: str, readings: list[dict],
                digests: list[str]) -> tuple[list[bool], list]:
        """Per reading (with its content digest): does a valid receipt cover it? All of a
        device's readings here are covered together, or none (the digest is over all of them);
        and the refusal reasons of receipts that did not count."""
        receipted, refused = self.receipted_devices(receipts, primary)
        by_device: dict[str, set[tuple[int, str]]] = defaultdict(set)
        for reading, digest in zip(readings, digests, strict=True):
            by_device[reading["userId"]].add((reading["seq"], digest))
        good = {device for device, entries in by_device.items()
                if readings_digest(entries) in receipted.get(device, ())}
        return [reading["userId"] in good for reading in readings], refused
