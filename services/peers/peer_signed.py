"""A document an admitted peer signed with its own peer key, carrying its credential:
`{<signer field>: peer id, "credential": the operator's credential document, "body", "sig"}`.

Shared by the master's attestations (attestation.py, checked by storage) and the aggregators'
replication receipts (receipts.py, checked by masters): the signature must verify against the
signer's peer id (an Ed25519 identity multihash), and the enclosed credential must be the
operator's, for that very peer id, and grant the role. Revocation is checked on every use;
expiry is the caller's call (an attestation stays valid after its master's credential expires,
a receipt is checked as it arrives)."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable

from libp2p.peer.id import ID

from services.ingest.reading import unb64
from services.peers.admission.credential import KIND as CREDENTIAL_KIND
from services.peers.admission.credential import Credential, Refused, parse

CACHE = 4096  # credentials and keys kept: every document of one signer encloses the same ones


class PeerSignedCheck:
    def __init__(self, operator, revocations, *, role: str, signer_field: str,
                 signed_bytes: Callable[[object], bytes], wrong_role: str):
        self.operator = operator
        self.revocations = revocations
        self.role = role
        self.wrong_role = wrong_role  # the refusal's reason when the credential lacks the role
        self.signer_field = signer_field
        self.signed_bytes = signed_bytes
        # Every document of a signer encloses the same credential and names the same key:
        # check the operator's signature and decode the key once, not once per document.
        self._credentials: OrderedDict[str, tuple] = OrderedDict()  # sig -> (body, Credential)
        self._keys: OrderedDict[str, object] = OrderedDict()  # signer peer id -> public key

    def _credential(self, document) -> Credential:
        """parse(), remembered by the credential's signature — for a document with that very
        body only (another body under a known signature is parsed, and refused, afresh)."""
        sig = document.get("sig") if isinstance(document, dict) else None
        known = self._credentials.get(sig) if isinstance(sig, str) else None
        if known is not None and known[0] == document.get(CREDENTIAL_KIND):
            return known[1]
        credential = parse(self.operator, document)
        remember(self._credentials, sig, (copy.deepcopy(document[CREDENTIAL_KIND]), credential))
        return credential

    def _key(self, signer: str):
        key = self._keys.get(signer)
        if key is None:
            key = ID.from_base58(signer).extract_public_key()
            remember(self._keys, signer, key)
        return key

    def verified(self, document) -> tuple[str, object, Credential]:
        """(signer, body, credential) of a document the signer signed and its credential admits
        for the role; Refused otherwise (revocation included, expiry not)."""
        try:
            signer, body = str(document[self.signer_field]), document["body"]
            data = self.signed_bytes(body)
        except Exception:  # malformed in any way  # noqa: BLE001
            raise Refused("malformed") from None
        return signer, body, self.signed_by(signer, document.get("credential"), data,
                                            document.get("sig"))

    def signed_by(self, signer: str, credential_document, data: bytes, sig) -> Credential:
        """The credential of `signer`, whose key signed `data` (`sig`, base64url) and whose
        credential admits it for the role; Refused otherwise (revocation included, expiry
        not)."""
        try:
            credential = self._credential(credential_document)
            signed = self._key(signer).verify(data, unb64(sig))
        except Refused:
            raise
        except Exception:  # malformed in any way  # noqa: BLE001
            raise Refused("malformed") from None
        if credential.peer_id != signer or self.role not in credential.roles:
            raise Refused(self.wrong_role)
        if not signed:
            raise Refused("bad_signature")
        self.still_admitted(credential)
        return credential

    def still_admitted(self, credential: Credential) -> None:
        if self.revocations.revoked(credential):
            raise Refused("revoked")


def remember(cache: OrderedDict, key, value) -> None:
    cache[key] = value
    while len(cache) > CACHE:
        cache.popitem(last=False)
