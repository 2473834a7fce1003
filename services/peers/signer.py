"""This peer's own signing identity, for what it signs in its own name (a master's
attestations, a replica's receipts): its key pair, peer id (the key's identity multihash) and
the operator's credential for it, which every signed document carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signer:
    key_pair: object
    peer_id: str
    credential: dict  # the operator-signed credential document (admission/credential.py)
