"""Check a downloaded bundle against the chain: every window's inclusion proof leads to a batch
root anchored on-chain, and (given the sealed bytes) the ciphertext is what the registry names.

What this proves and what it does not: each window the bundle was made from existed, was stored
and anchored (when: the anchor's block); the sealed bundle is the registered one. The custodian
transcribes windows into FHIR/CSV; that transcription is trusted, not proven (the window
ciphertexts stay encrypted under keys only the patient's store holds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.records import merkle

AnchorLookup = Callable[[bytes], bool]  # is this batch root anchored on-chain?


@dataclass
class Verdict:
    windows: int = 0
    roots: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.windows > 0


def verify_document(document: dict[str, Any], anchored: AnchorLookup) -> Verdict:
    verdict = Verdict()
    roots: dict[bytes, bool] = {}
    windows = document.get("windows")
    if not isinstance(windows, list) or not windows:
        verdict.problems.append("the bundle lists no windows to check")
        return verdict
    for index, window in enumerate(windows):
        try:
            leaf = _hex32(window["ciphertext_sha256"])
            root = _hex32(window["batch_root"])
            proof = [_hex32(p) for p in window["proof"]]
        except (KeyError, TypeError, ValueError):
            verdict.problems.append(f"window {index}: malformed proof entry")
            continue
        if not merkle.verify(leaf, proof, root):
            verdict.problems.append(f"window {index}: proof does not lead to its batch root")
            continue
        if root not in roots:
            roots[root] = anchored(root)
        if not roots[root]:
            verdict.problems.append(f"window {index}: batch root 0x{root.hex()} is not anchored")
            continue
        verdict.windows += 1
    verdict.roots = sum(roots.values())
    return verdict


def check_sealed(sealed: bytes, registered_hash: bytes) -> str | None:
    """None when the sealed bundle is the registered one, else what is wrong."""
    if hashlib.sha256(sealed).digest() != registered_hash:
        return "the sealed bundle's sha256 differs from the registry's ciphertextHash"
    return None


def _hex32(value: Any) -> bytes:
    raw = bytes.fromhex(str(value).removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError("not 32 bytes")
    return raw
