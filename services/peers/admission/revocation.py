"""The operator's revocation list: signed, numbered (a higher `seq` replaces a lower one, never
the other way round), naming revoked credential serials and revoked peer ids.

A peer loads it from its file at start and whenever the file changes (the operator, or a
deployment tool, drops a new one in: no restart), and gossips it on its own topic, so a list
given to any one peer reaches every admitted peer; a newer list heard on gossip is written back
to the file, so a restarted peer does not forget it."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.peers.admission.credential import Credential
from services.peers.admission.signed import SignatureInvalid, open_signed, sign
from services.runtime.durable_files import write_atomically

KIND = "revocations"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RevocationList:
    seq: int = 0
    serials: frozenset[str] = frozenset()
    peer_ids: frozenset[str] = frozenset()
    document: dict | None = field(default=None, compare=False)  # as signed, to pass on

    def revokes(self, credential: Credential) -> bool:
        return credential.serial in self.serials or credential.peer_id in self.peer_ids


def make_list(operator: Ed25519PrivateKey, seq: int, serials, peer_ids) -> dict:
    return sign(operator, KIND, {"v": 1, "seq": int(seq), "serials": sorted(set(serials)),
                                 "peer_ids": sorted(set(peer_ids))})


def parse_list(operator: Ed25519PublicKey, document) -> RevocationList:
    body = open_signed(operator, KIND, document)
    try:
        return RevocationList(int(body["seq"]), frozenset(map(str, body["serials"])),
                              frozenset(map(str, body["peer_ids"])), document)
    except (KeyError, TypeError, ValueError):
        raise SignatureInvalid(KIND) from None


def read_list_file(operator: Ed25519PublicKey, path: Path) -> RevocationList:
    """The list in `path`; an empty list if there is none. A file that is there but not signed
    by the operator is an error: silently ignoring it would un-revoke everyone."""
    if not path.exists():
        return RevocationList()
    return parse_list(operator, json.loads(path.read_text()))


class Revocations:
    """The newest list this peer knows; `on_change` runs after every adoption."""

    def __init__(self, operator: Ed25519PublicKey, path: Path):
        self.operator = operator
        self.path = path
        self.current = read_list_file(operator, path)
        self.on_change: Callable[[RevocationList], None] = lambda current: None
        self._mtime = self._file_mtime()

    def revoked(self, credential: Credential) -> bool:
        return self.current.revokes(credential)

    def _file_mtime(self) -> float | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def reload_if_changed(self) -> None:
        mtime = self._file_mtime()
        if mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            self.adopt(read_list_file(self.operator, self.path), persist=False)
        except (SignatureInvalid, ValueError) as exc:
            log.warning("revocation file ignored: %s", type(exc).__name__)

    def adopt_document(self, document) -> bool:
        """A list heard from a peer: adopted only if the operator signed it and it is newer."""
        try:
            return self.adopt(parse_list(self.operator, document), persist=True)
        except SignatureInvalid:
            return False

    def adopt(self, candidate: RevocationList, persist: bool) -> bool:
        if candidate.seq <= self.current.seq:
            return False
        self.current = candidate
        if persist and candidate.document is not None:
            # on disk before it is told on: a restart must not bring a revoked peer back
            write_atomically(self.path, json.dumps(candidate.document).encode())
            self._mtime = self._file_mtime()
        log.info("revocation list %d adopted", candidate.seq)
        self.on_change(candidate)
        return True
