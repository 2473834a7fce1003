"""The tests' operator: one Ed25519 key per test process, installed as the local operator key of
every data dir a test uses (so peers in different data dirs of one test admit each other), and
credentials issued from it, including the expired, revoked and wrong-role ones the rogue-peer
tests need."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from services.peers.admission.local import (
    admit_locally,
    admit_peer,
    ensure_digest_key,
    ensure_network_psk,
)

_SEED = os.urandom(32)
OPERATOR = Ed25519PrivateKey.from_private_bytes(_SEED)
DIGEST_KEY = os.urandom(32)
NETWORK_PSK = os.urandom(32)  # the private network every peer of a test process shares


def install_test_operator(data_dir: Path) -> None:
    """Make the test operator the local operator of data_dir (before any peer or supervisor
    there issues credentials with a key of its own)."""
    ensure_digest_key(Path(data_dir), DIGEST_KEY)
    ensure_network_psk(Path(data_dir), NETWORK_PSK)
    path = Path(data_dir) / "admission" / "operator.key"
    if path.exists():
        if path.read_bytes() != _SEED:
            raise RuntimeError(f"{path} holds another operator key")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(OPERATOR.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    path.chmod(0o600)


def admit(data_dir: Path, name: str, roles, valid_s: float | None = None,
          now: float | None = None) -> dict:
    """A credential for peer `name` of data_dir (issued anew when valid_s or now is given)."""
    install_test_operator(data_dir)
    if valid_s is None and now is None:
        admit_locally(Path(data_dir), {name: tuple(roles)})
        return {}
    return admit_peer(Path(data_dir), name, roles, OPERATOR, valid_s or 3600.0, now)


def master_attestations(readings: list[dict]) -> list[dict]:
    """What an admitted master would attest for these readings (each with its userId)."""
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.peer.id import ID

    from services.peers.admission.credential import issue
    from services.peers.attestation import attest

    key_pair = create_new_key_pair()
    peer_id = ID.from_pubkey(key_pair.public_key).to_base58()
    credential = issue(OPERATOR, peer_id, ["master"], 3600)
    return list(attest(key_pair, peer_id, credential, readings, DIGEST_KEY).values())


def attestation_check(tmp_dir: Path):
    """The check a storage peer of the test operator's network makes (nothing revoked)."""
    from services.peers.admission.revocation import Revocations
    from services.peers.attestation import AttestationCheck

    return AttestationCheck(OPERATOR.public_key(),
                            Revocations(OPERATOR.public_key(), Path(tmp_dir) / "revocations.json"),
                            DIGEST_KEY)
