"""libp2p peer ids of Ed25519 keys, so a registered device id provably matches its public key.

A libp2p Ed25519 peer id is base58btc(identity multihash(protobuf PublicKey{Type: Ed25519,
Data: key})) = base58(0x00 0x24 0x08 0x01 0x12 0x20 || key): the familiar "12D3KooW..." ids.
"""

from __future__ import annotations

import base58

_PREFIX = bytes([0x00, 0x24, 0x08, 0x01, 0x12, 0x20])


def ed25519_peer_id(public_key: bytes) -> str:
    if len(public_key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return base58.b58encode(_PREFIX + public_key).decode()
