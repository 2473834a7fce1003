"""One signing recipe for everything the operator signs: {"<kind>": body, "sig": base64url
Ed25519 over the RFC 8785 canonical JSON of body}. The kind is part of the document so a
revocation list can never pass for a credential or the other way round."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.ingest.reading import b64, canonical, unb64


class SignatureInvalid(Exception):
    pass


def sign(key: Ed25519PrivateKey, kind: str, body: dict) -> dict:
    return {kind: body, "sig": b64(key.sign(canonical({"kind": kind, "body": body})))}


def open_signed(public_key: Ed25519PublicKey, kind: str, document: dict) -> dict:
    """The body, if the operator signed it as `kind`; SignatureInvalid otherwise."""
    try:
        body = document[kind]
        public_key.verify(unb64(document["sig"]), canonical({"kind": kind, "body": body}))
    except Exception as exc:  # malformed, wrong kind or bad signature: all "not the operator's"
        raise SignatureInvalid(kind) from exc
    if not isinstance(body, dict):
        raise SignatureInvalid(kind)
    return body
