"""The master's attestation: what it validated, signed with its own peer key, carried beside
the readings to storage — so a window whose readings no admitted master validated (an aggregator
that invents or alters readings) is never stored, anchored or served.

One attestation per device per `agg.ingest` call: `{"master", "credential", "body": {"device",
"readings": [[seq, digest], ...]}, "sig"}`, the digest being the window store's digest of
(heart rate, time, RR), keyed with the network's digest key — so storage can recompute it
from a window's readings, and an attestation kept on an aggregator's disk gives no heart rate
away. The master's
peer id is its Ed25519 key (identity multihash): storage checks the signature against it, and
the enclosed credential against the operator key (role master, not revoked). Expiry is not
checked here: a master's credential that expired after it validated a reading does not make
the reading less valid; a revoked one does (it may have been stolen)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict, defaultdict
from typing import Annotated, Literal

import msgspec

from services.ingest.reading import b64, canonical
from services.peers.admission.credential import Credential, Refused
from services.peers.peer_signed import PeerSignedCheck, remember
from services.peers.signed_trees import SignedTrees
from services.peers.window_store import digests_of
from services.records import merkle

KIND = "attestation"
ROOT_KIND = "attestation-root"  # what a master signs: never the same bytes as a body


def signed_bytes(body) -> bytes:
    """What a master signs: canonical({"kind": KIND, "body": body}). For the shape attest()
    makes — a device id and [int seq, digest] pairs — msgspec's sorted compact text is that
    canonical text, which a typed read-back proves: the body's keys exactly these, each seq an
    int a double holds exactly (no float, no bool), each digest a string, and no escape in the
    text (RFC 8785 writes control characters its own way). ~4x cheaper than checking the shape
    in Python first, and run for every attestation signed and every one checked; any other
    shape (whatever a forger sends) goes through canonical(), which agrees (tests)."""
    if type(body) is dict:
        try:
            text = _signed_encoder.encode({"body": body, "kind": KIND})
            if b"\\" not in text:
                _signed_shape.decode(text)
                return text
        except (TypeError, ValueError, OverflowError, msgspec.DecodeError):
            pass  # not the masters' shape: the general encoder decides, or refuses
    return canonical({"kind": KIND, "body": body})


_SAFE_INT = msgspec.Meta(ge=-(2**53 - 1), le=2**53 - 1)


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    device: str
    readings: list[tuple[Annotated[int, _SAFE_INT], str]]


class _Signed(msgspec.Struct, forbid_unknown_fields=True):
    body: _Body
    kind: Literal["attestation"]


_signed_encoder = msgspec.json.Encoder(order="sorted")
_signed_shape = msgspec.json.Decoder(_Signed)


def root_bytes(root: bytes) -> bytes:
    """What a master signs for a call: canonical({"kind": ROOT_KIND, "root": hex})."""
    return canonical({"kind": ROOT_KIND, "root": root.hex()})


def leaf_of(body) -> bytes:
    return hashlib.sha256(signed_bytes(body)).digest()


def attestation_id(document) -> str | None:
    """The name an aggregator keeps a document under (readings refer to it): unique per
    device per call. None for what is not an attestation's shape (kept by no one)."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("root_sig"), str) and isinstance(document.get("body"), dict):
        named = f'{document["root_sig"]} {document["body"].get("device")}'
        return b64(hashlib.sha256(named.encode()).digest()[:18])
    return document["sig"] if isinstance(document.get("sig"), str) else None


def attest(key_pair, master_id: str, credential: dict, readings: list[dict],
           digest_key: bytes, digests: list[str] | None = None) -> dict[str, dict]:
    """Attestations for these readings, one per device, keyed by device: one signature over
    the Merkle root of every device's body, a path to it in each. `digests`: the readings'
    digests when the caller already has them (one HMAC per reading, not two)."""
    if digests is None:
        digests = digests_of(readings, digest_key)
    by_device: dict[str, list] = defaultdict(list)
    for reading, digest in zip(readings, digests, strict=True):
        by_device[reading["userId"]].append([reading["seq"], digest])
    if not by_device:
        return {}
    bodies = {device: {"device": device, "readings": entries}
              for device, entries in by_device.items()}
    root, proofs = merkle.build([leaf_of(body) for body in bodies.values()])
    root_sig = b64(key_pair.private_key.sign(root_bytes(root)))
    return {device: {"master": master_id, "credential": credential, "body": body,
                     "root_sig": root_sig, "proof": [b64(node) for node in proof]}
            for (device, body), proof in zip(bodies.items(), proofs)}


class AttestationCheck:
    def __init__(self, operator, revocations, digest_key: bytes):
        self.digest_key = digest_key
        self._signed = PeerSignedCheck(operator, revocations, role="master", signer_field="master",
                                       signed_bytes=signed_bytes, wrong_role="not_a_master")
        # sig (older form) or (root signature, path) -> (device, entries, credential)
        self._verified: OrderedDict[object, tuple] = OrderedDict()
        # (master, root signature) -> (root, credential): a call's root, verified once
        self._roots: OrderedDict[tuple, tuple] = OrderedDict()
        self._trees = SignedTrees()  # and the nodes on the paths that led to it

    def _attested(self, document: dict) -> tuple[str, frozenset]:
        """(device, {(seq, digest)}) the document attests; Refused if it is not a master's."""
        if isinstance(document, dict) and "root_sig" in document:
            return self._attested_in_call(document)
        cached = self._verified.get(document.get("sig")) if isinstance(document, dict) else None
        if cached is None:
            _, body, credential = self._signed.verified(document)
            cached = _entries(body, credential)
            remember(self._verified, document["sig"], cached)
        device, entries, credential = cached
        self._signed.still_admitted(credential)
        return device, entries

    def _attested_in_call(self, document: dict) -> tuple[str, frozenset]:
        """The Merkle form: the body's path must lead to a root its master signed.

        Remembered by (root signature, path) — what was verified, not what this copy claims:
        a copy with that key and another body gets the verified body's readings, so no reading
        it added or changed can pass. Windows share documents (a call's readings span windows,
        and each window reads its documents afresh), and the key costs no encoding or hashing."""
        try:
            key = (str(document["root_sig"]), tuple(document["proof"]))
            cached = self._verified.get(key)
            if cached is None:
                body, signer = document["body"], (str(document["master"]), key[0])
                credential, passed, root = self._trees.walk(
                    signer, merkle.leaf_hash(leaf_of(body)), key[1])
        except Exception:  # malformed in any way  # noqa: BLE001
            raise Refused("malformed") from None
        if cached is None:
            if credential is None:  # no node of a tree we know: the root's signature decides
                credential = self._root_credential(*signer, root, document)
            self._trees.learn(signer, credential, passed)
            cached = _entries(body, credential)
            remember(self._verified, key, cached)
        device, entries, credential = cached
        self._signed.still_admitted(credential)
        return device, entries

    def _root_credential(self, master: str, root_sig: str, root: bytes, document) -> Credential:
        """The credential of the master that signed this root (verified once per root)."""
        known = self._roots.get((master, root_sig))
        if known is not None and known[0] == root:
            return known[1]
        credential = self._signed.signed_by(master, document.get("credential"), root_bytes(root),
                                            root_sig)
        remember(self._roots, (master, root_sig), (root, credential))
        return credential

    def window_attested(self, item: dict) -> bool:
        """Every reading of the window is in an attestation a master made for its device."""
        attested: set = set()
        for document in item.get("attestations") or ():
            try:
                device, entries = self._attested(document)
            except Refused:
                continue
            if device == item["device_id"]:
                attested |= entries
        readings = item["readings"]
        return all((r["seq"], digest) in attested
                   for r, digest in zip(readings, digests_of(readings, self.digest_key)))


def _entries(body, credential) -> tuple[str, frozenset, Credential]:
    try:
        return (str(body["device"]),
                frozenset((int(seq), str(digest)) for seq, digest in body["readings"]),
                credential)
    except Exception:  # a master's signature over a body of another shape  # noqa: BLE001
        raise Refused("malformed") from None
