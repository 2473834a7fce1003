"""A membership credential: the operator's signature over (peer id, roles, validity, serial).

It is worth nothing on its own: a peer presents it over a connection whose remote peer id Noise
verified, and the gate admits the peer only if that id is the one signed here. The serial names
one issued credential, so one can be revoked without touching the peer's other (rotated) ones.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.peers.admission.signed import SignatureInvalid, open_signed, sign
from services.peers.settings import ALL_ROLES

KIND = "credential"
VERSION = 1
# Credentials already verified, by (operator key, signature), with the body that was signed:
# every presence note carries its sender's credential, and one Ed25519 verification per note
# and peer was a steady share of an idle cluster's CPU. A hit needs the very same body; expiry
# and revocation are still checked on every use (check() below).
_VERIFIED: OrderedDict[tuple[bytes, str], tuple[dict, Credential]] = OrderedDict()
_VERIFIED_MAX = 4096


class Refused(Exception):
    """A peer was not admitted; `reason` is the metric label (no ids, no payloads)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Credential:
    peer_id: str
    roles: frozenset[str]
    serial: str
    not_before: int
    expires_at: int

    def current(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.not_before <= now < self.expires_at


def issue(operator: Ed25519PrivateKey, peer_id: str, roles, valid_s: float,
          now: float | None = None) -> dict:
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    now = int(time.time() if now is None else now)
    return sign(operator, KIND, {
        "v": VERSION, "peer_id": peer_id, "roles": sorted(set(roles)),
        "serial": secrets.token_hex(8), "not_before": now, "expires_at": int(now + valid_s)})


def parse(operator: Ed25519PublicKey, document) -> Credential:
    """The credential's content, if the operator signed it (expiry is checked separately)."""
    if not isinstance(document, dict):
        raise Refused("no_credential")
    sig = document.get("sig")
    key = (operator.public_bytes_raw(), sig) if isinstance(sig, str) else None
    hit = _VERIFIED.get(key) if key is not None else None
    if hit is not None and hit[0] == document.get(KIND):
        return hit[1]
    try:
        body = open_signed(operator, KIND, document)
    except SignatureInvalid:
        raise Refused("bad_signature") from None
    try:
        if body["v"] != VERSION:
            raise Refused("malformed")
        credential = Credential(str(body["peer_id"]), frozenset(map(str, body["roles"])),
                                str(body["serial"]), int(body["not_before"]),
                                int(body["expires_at"]))
    except (KeyError, TypeError, ValueError):
        raise Refused("malformed") from None
    _VERIFIED[key] = (copy.deepcopy(body), credential)
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return credential


def check(operator: Ed25519PublicKey, document, peer_id: str, revoked,
          now: float | None = None) -> Credential:
    """Admit `peer_id` (the Noise-verified remote id) by this credential, or raise Refused."""
    credential = parse(operator, document)
    if credential.peer_id != peer_id:
        raise Refused("wrong_peer")
    if not credential.current(now):
        raise Refused("expired")
    if revoked(credential):
        raise Refused("revoked")
    return credential
