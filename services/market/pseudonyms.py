"""Subject pseudonyms per purchase: a sealed bundle names no subject, each buyer's copy is labelled
with a pseudonym of their purchase when it is delivered.

A bundle is sealed once and its ciphertext hash is on-chain, so every buyer of it receives the same
sealed bytes: a subject inside them would be the same for everyone. The sealed document therefore
carries `UNLABELLED` wherever the subject goes (the document's `subject`, each Observation's
`subject.identifier.value`, the first CSV column), and delivery replaces it:

- the gateway, for plaintext reads (the dapp), with `purchase_subject(...)` of the buyer's purchase;
- `pulseledger buyer fetch`, locally, after it has checked the sealed bytes against the registry's
  hash and decrypted them, with the subject the gateway sent beside the wrapped key.

The proofs are over the windows' ciphertexts, never over the subject, so labelling changes nothing
any check covers. Same length, a fixed marker that no other field can contain (ids and hashes are
0x-hex, values are numbers): labelling is one byte replacement, no parse, on every read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

UNLABELLED = "pl-" + "0" * 32
_UNLABELLED_BYTES = UNLABELLED.encode()
_PSEUDONYM = re.compile(r"pl-[0-9a-f]{32}")
LABEL = b"pulseledger/purchase-subject/v1"


def purchase_subject(keyed_digest: Callable[[bytes, bytes], bytes], purchase_id: int) -> str:
    """The pseudonym of one purchase: the same on every read of every record it covers (so a
    buyer can join their own bundles of it), unrelated across purchases for anyone without the
    key (`keyed_digest`: the record store's HMAC under a master-derived key)."""
    digest = keyed_digest(LABEL, purchase_id.to_bytes(32, "big")).hex()
    subject = "pl-" + digest[:32]
    return subject if subject != UNLABELLED else "pl-" + digest[32:64]


def label(plaintext: bytes, subject: str) -> bytes:
    """The sealed document with `subject` wherever it names one; other bodies unchanged."""
    _check(subject)
    return plaintext.replace(_UNLABELLED_BYTES, subject.encode())


def unlabelled_parts(plaintext: bytes) -> tuple[bytes, ...]:
    """The document cut at each marker: the same for every buyer of one sealed version, so a
    reader may keep it (services/gateway/label_parts.py) and label with `join_labelled`."""
    return tuple(plaintext.split(_UNLABELLED_BYTES))


def join_labelled(parts: tuple[bytes, ...], subject: str) -> bytes:
    """What `label` gives for the document `parts` were cut from (a join: no search)."""
    _check(subject)
    return subject.encode().join(parts)


def _check(subject: str) -> None:
    if not _PSEUDONYM.fullmatch(subject) or subject == UNLABELLED:
        raise ValueError("a subject pseudonym is pl- and 32 lower-case hex digits")
