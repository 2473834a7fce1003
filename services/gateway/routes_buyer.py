"""Buyers read sellable records: plaintext over the signed-in session (the dapp), or the record key
wrapped to their secp256k1 public key with ECIES (programmatic buyers)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from eth_utils import keccak, to_checksum_address
from flask import Blueprint, Response, jsonify, request

from services.gateway import ecies, record_delivery, validate
from services.gateway.context import gateway, signed_in
from services.gateway.errors import BadRequest, Forbidden
from services.gateway.observability import name_request
from services.market import pseudonyms

blueprint = Blueprint("buyer", __name__)
ECIES_FORMAT = "ecies-secp256k1-hkdf-sha256-aes256gcm-v1"


def _grant(purchase_id) -> record_delivery.Grant:
    record_id = validate.bytes32(request.view_args["record_id"], "record_id")
    purchase_id = validate.uint(purchase_id, "purchase_id", minimum=1)
    buyer = signed_in()
    return record_delivery.authorise(gateway(), buyer, record_id, purchase_id)


@blueprint.get("/records/<record_id>")
def read_record(record_id: str):
    gw = gateway()
    grant = _grant(request.args.get("purchase_id"))
    body = record_delivery.labelled(gw, grant, _subject(gw, grant))
    tx = record_delivery.confirm_first_delivery(gw, grant)
    gw.metrics.deliveries.labels("plaintext").inc()
    name_request("record_delivered", record=grant.record_id, buyer=grant.buyer, format="plaintext")
    headers = {"X-PulseLedger-Record-Version": str(grant.version), "Cache-Control": "no-store"}
    if tx:
        headers["X-PulseLedger-Delivery-Tx"] = tx
    return Response(body, mimetype="application/octet-stream", headers=headers)


@blueprint.post("/records/<record_id>/key")
def wrapped_key(record_id: str):
    gw = gateway()
    body = validate.json_body()
    grant = _grant(body.get("purchase_id"))
    raw = validate.hex_bytes(body.get("public_key"), "public_key", lengths=(33, 64, 65))
    try:
        recipient = ecies.public_key_from_bytes(raw)
    except ValueError:
        raise BadRequest("public_key is not a point on secp256k1") from None
    point = recipient.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)
    if to_checksum_address(keccak(point[1:])[-20:]) != grant.buyer:
        raise Forbidden("public_key must be the signed-in buyer's own key", code="foreign_key")
    key, associated_data = record_delivery.record_key(gw, grant)
    record_id = bytes.fromhex(grant.record_id[2:])
    wrapped = ecies.wrap(recipient, key, context=record_id)
    tx = record_delivery.confirm_first_delivery(gw, grant)
    gw.metrics.deliveries.labels("ecies").inc()
    name_request("record_key_delivered", record=grant.record_id, buyer=grant.buyer,
                 format="ecies")
    return jsonify(record_id=grant.record_id, version=grant.version, format=ECIES_FORMAT,
                   wrapped_key="0x" + wrapped.hex(),
                   ecies_associated_data=grant.record_id,
                   record_associated_data="0x" + associated_data.hex(),
                   ciphertext_sha256="0x" + grant.ciphertext_hash.hex(), delivery_tx=tx,
                   subject=_subject(gw, grant))


def _subject(gw, grant: record_delivery.Grant) -> str:
    """The purchase's own subject pseudonym: what the buyer's copy of a bundle names (the sealed
    bundle names none, services/market/pseudonyms.py)."""
    return pseudonyms.purchase_subject(gw.store.keyed_digest, grant.purchase_id)


@blueprint.get("/records/<record_id>/ciphertext")
def read_ciphertext(record_id: str):
    """The sealed record (nonce || ciphertext || tag) for buyers who hold the wrapped key."""
    gw = gateway()
    grant = _grant(request.args.get("purchase_id"))
    body, associated_data = record_delivery.sealed(gw, grant)
    return Response(body, mimetype="application/octet-stream",
                    headers={"X-PulseLedger-Associated-Data": "0x" + associated_data.hex(),
                             "X-PulseLedger-Record-Version": str(grant.version),
                             "Cache-Control": "no-store"})
