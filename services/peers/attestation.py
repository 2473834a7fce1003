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

from collections import OrderedDict, defaultdict

from services.ingest.reading import SAFE_CHARS, b64, canonical, canonical_int
from services.peers.admission.credential import Refused
from services.peers.peer_signed import PeerSignedCheck, remember
from services.peers.window_store import digest_of

KIND = "attestation"


def signed_bytes(body) -> bytes:
    """What a master signs: canonical({"kind": KIND, "body": body}). Written directly for the
    shape attest() makes — a plain device id and [int seq, plain digest] pairs, ≈9x faster than
    the general encoder, and run for every attestation signed and every one checked; any other
    shape (whatever a forger sends) goes through canonical(), which agrees (tests)."""
    if type(body) is dict and len(body) == 2:
        device, entries = body.get("device"), body.get("readings")
        if type(device) is str and SAFE_CHARS.issuperset(device) and type(entries) is list:
            parts = []
            for entry in entries:
                if type(entry) is not list or len(entry) != 2:
                    break
                seq, digest = entry
                seq_text = canonical_int(seq) if type(seq) is int else None
                if seq_text is None or type(digest) is not str \
                        or not SAFE_CHARS.issuperset(digest):
                    break
                parts.append(f'[{seq_text},"{digest}"]')
            else:
                return (f'{{"body":{{"device":"{device}","readings":[{",".join(parts)}]}},'
                        f'"kind":"{KIND}"}}').encode()
    return canonical({"kind": KIND, "body": body})


def attest(key_pair, master_id: str, credential: dict, readings: list[dict],
           digest_key: bytes, digests: list[str] | None = None) -> dict[str, dict]:
    """Attestations for these readings, one per device, keyed by device. `digests`: the
    readings' digests when the caller already has them (one HMAC per reading, not two)."""
    if digests is None:
        digests = [digest_of(reading, digest_key) for reading in readings]
    by_device: dict[str, list] = defaultdict(list)
    for reading, digest in zip(readings, digests, strict=True):
        by_device[reading["userId"]].append([reading["seq"], digest])
    out = {}
    for device, entries in by_device.items():
        body = {"device": device, "readings": entries}
        signature = key_pair.private_key.sign(signed_bytes(body))
        out[device] = {"master": master_id, "credential": credential, "body": body,
                       "sig": b64(signature)}
    return out


class AttestationCheck:
    def __init__(self, operator, revocations, digest_key: bytes):
        self.digest_key = digest_key
        self._signed = PeerSignedCheck(operator, revocations, role="master", signer_field="master",
                                       signed_bytes=signed_bytes, wrong_role="not_a_master")
        self._verified: OrderedDict[str, tuple] = OrderedDict()  # sig -> (device, entries, cred)

    def _attested(self, document: dict) -> tuple[str, frozenset]:
        """(device, {(seq, digest)}) the document attests; Refused if it is not a master's."""
        cached = self._verified.get(document.get("sig")) if isinstance(document, dict) else None
        if cached is None:
            _, body, credential = self._signed.verified(document)
            try:
                cached = (str(body["device"]),
                          frozenset((int(seq), str(digest)) for seq, digest in body["readings"]),
                          credential)
            except Exception:  # a master's signature over a body of another shape  # noqa: BLE001
                raise Refused("malformed") from None
            remember(self._verified, document["sig"], cached)
        device, entries, credential = cached
        self._signed.still_admitted(credential)
        return device, entries

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
        return all((r["seq"], digest_of(r, self.digest_key)) in attested for r in item["readings"])
