"""The one-machine operator: `pulseledger up`, `pulseledger peers up` and the test kit issue
credentials themselves, from an operator key kept beside the peers (data_dir/admission/
operator.key). On a real network the operator key stays with the operator and credentials
are issued with `pulseledger operator issue`; peers only ever read the public key."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from libp2p.peer.id import ID

from services.peers.admission.credential import issue
from services.peers.admission.operator_key import load_or_create_operator_key, public_hex
from services.peers.identity import load_or_create_key_pair
from services.runtime.durable_files import create_secret, write_atomically

LOCAL_VALID_S = 30 * 24 * 3600.0
RENEW_BEFORE_S = 7 * 24 * 3600.0


def peer_id_of_key_file(path: Path) -> str:
    """The peer id of an identity file (created if missing, as the peer itself would)."""
    return ID.from_pubkey(load_or_create_key_pair(path).public_key).to_base58()


def write_json(path: Path, value: dict) -> None:
    write_atomically(path, json.dumps(value).encode())


def write_operator_public_key(data_dir: Path, operator: Ed25519PrivateKey) -> None:
    path = data_dir / "admission" / "operator.pub"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(public_hex(operator) + "\n")


def ensure_digest_key(data_dir: Path, key: bytes | None = None) -> None:
    """The network's digest key (see PeersSettings.digest_key), created once, 0600."""
    _ensure_secret(data_dir / "admission" / "digest.key", key)


def ensure_network_psk(data_dir: Path, key: bytes | None = None) -> None:
    """The private network's key (see PeersSettings.network_psk), created once, 0600."""
    _ensure_secret(data_dir / "admission" / "network.psk", key)


def _ensure_secret(path: Path, key: bytes | None) -> None:
    """32 random bytes (or `key`) in hex at path, unless it exists; 0600 from the start."""
    if path.exists():
        return
    create_secret(path, ((key or os.urandom(32)).hex() + "\n").encode())


def credential_file(data_dir: Path, name: str) -> Path:
    return data_dir / "admission" / "credentials" / f"{name}.json"


def _still_good(path: Path, peer_id: str, roles, now: float) -> bool:
    """An earlier credential for the same id and roles that is not about to expire."""
    try:
        body = json.loads(path.read_text())["credential"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return False
    return (body.get("peer_id") == peer_id and set(body.get("roles", ())) >= set(roles)
            and body.get("expires_at", 0) - now > RENEW_BEFORE_S)


def admit_peer(data_dir: Path, name: str, roles, operator: Ed25519PrivateKey,
               valid_s: float = LOCAL_VALID_S, now: float | None = None) -> dict:
    """Issue data_dir/admission/credentials/<name>.json for the peer data_dir/keys/<name>.key."""
    peer_id = peer_id_of_key_file(data_dir / "keys" / f"{name}.key")
    write_operator_public_key(data_dir, operator)
    document = issue(operator, peer_id, roles, valid_s, now)
    write_json(credential_file(data_dir, name), document)
    return document


def admit_locally(data_dir: Path, peers: dict[str, tuple[str, ...]]) -> None:
    """Credentials for these peers (name → roles) from the local operator key, kept while good."""
    operator = load_or_create_operator_key(data_dir / "admission" / "operator.key")
    write_operator_public_key(data_dir, operator)
    ensure_digest_key(data_dir)
    ensure_network_psk(data_dir)
    now = time.time()
    for name, roles in peers.items():
        peer_id = peer_id_of_key_file(data_dir / "keys" / f"{name}.key")
        if not _still_good(credential_file(data_dir, name), peer_id, roles, now):
            admit_peer(data_dir, name, roles, operator, now=now)
