"""Onboarding, each request signed by the patient's wallet (EIP-712, gateway-issued nonce)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Blueprint, jsonify

from services.gateway import validate
from services.gateway.context import gateway
from services.gateway.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from services.gateway.observability import log
from services.gateway.typed_data import onboarding_typed_data, recover_typed
from services.ingest.device_identity import peer_id_for, usable_public_key
from services.ingest.pairing import PairingCodeError, check_code, parse_code
from services.records import Conflict as StoreConflict
from services.records import InvalidInput

blueprint = Blueprint("onboarding", __name__)


def _signed(primary_type: str, body: dict[str, Any], message: dict[str, Any]) -> str:
    """Check the owner's EIP-712 signature over `message`, then burn its nonce."""
    gw = gateway()
    signature = validate.hex_bytes(body.get("signature"), "signature", lengths=(65,))
    typed = onboarding_typed_data(primary_type, message, gw.ledger.chain_id)
    if recover_typed(typed, signature) != message["owner"]:
        raise Unauthorized(f"{primary_type} must be signed by the owner's wallet")
    gw.nonces.consume(message["nonce"])
    return message["owner"]


def _nonce(body: dict[str, Any]) -> str:
    return validate.string(body.get("nonce"), "nonce", max_length=64, pattern=r"[0-9a-zA-Z]{8,64}")


@blueprint.post("/onboarding/device")
def register_device():
    body = validate.json_body()
    owner = validate.address(body.get("owner"), "owner")
    public_key = validate.bytes32(body.get("public_key"), "public_key")
    if not usable_public_key(public_key):  # it could never sign a reading that verifies
        raise BadRequest("public_key is not an Ed25519 public key a device can sign with "
                         "(not a point of the curve's prime-order group)")
    device_id = validate.string(body.get("device_id"), "device_id", max_length=128)
    if device_id != peer_id_for(public_key):
        raise BadRequest("device_id must be the libp2p peer id of public_key (Ed25519)")
    _device_consents(body, device_id, public_key)
    _signed("RegisterDevice", body, {"owner": owner, "deviceId": device_id,
                                     "publicKey": public_key, "nonce": _nonce(body)})
    _spend_code(device_id, body["pairing_code"])
    try:
        gateway().store.register_device(device_id, owner.lower(), public_key)
    except StoreConflict:
        raise Conflict("this device is registered to another owner") from None
    except InvalidInput as error:
        raise BadRequest(str(error)) from None
    log("device_registered", owner=owner)
    return jsonify(owner=owner, device_id=device_id), 201


def _device_consents(body: dict[str, Any], device_id: str, public_key: bytes) -> None:
    """The device's own pairing code (services/ingest/pairing.py): a peer id is printed on the
    box and named by every reading, so the owner's signature alone let whoever read an unpaired
    id first pair it, and have the patient's readings stored for them. Checked before the
    owner's nonce is spent: a request refused here can be sent again with a good code."""
    try:
        why = check_code(body.get("pairing_code"), device_id, public_key,
                         int(time.time() * 1000), gateway().settings.pairing_code_longest_s * 1000)
    except PairingCodeError as error:
        raise BadRequest(f"pairing_code: {error}") from None
    if why is not None:
        raise Forbidden(why)


def _spend_code(device_id: str, code: str) -> None:
    """A code pairs once (remembered on every replica until it expires): a device unpaired
    later must not be paired again with a code it showed before, say by whoever sold it.
    Remembered by what it means — device, expiry, signature bytes — not by its text, which has
    other spellings (leading zeros, base64's spare low bits in the last character)."""
    expires_ms, signature = parse_code(code)
    meaning = f"{device_id} {expires_ms} {signature.hex()}".encode()
    ttl_s = max(1.0, expires_ms / 1000 - time.time() + 1)
    if not gateway().state.claim(f"pairing-code:{hashlib.sha256(meaning).hexdigest()}", ttl_s):
        raise Forbidden("this pairing code was used before: have the device show a new one")


@blueprint.post("/onboarding/device/unpair")
def unpair_device():
    """The patient removes a wearable (replaced, lost, sold): its readings are refused from now
    on, its stored windows stay theirs, and it can be paired again with a new code."""
    body = validate.json_body()
    owner = validate.address(body.get("owner"), "owner")
    device_id = validate.string(body.get("device_id"), "device_id", max_length=128)
    _signed("UnpairDevice", body, {"owner": owner, "deviceId": device_id, "nonce": _nonce(body)})
    try:
        removed = gateway().store.unregister_device(device_id, owner.lower())
    except InvalidInput as error:
        raise BadRequest(str(error)) from None
    if not removed:
        raise NotFound("no such device is paired to this owner")
    log("device_unpaired", owner=owner)
    return jsonify(owner=owner, device_id=device_id, unpaired=True)


@blueprint.post("/onboarding/contacts")
def set_contacts():
    body = validate.json_body()
    owner = validate.address(body.get("owner"), "owner")
    emails = validate.emails(body.get("emails"))
    _signed("SetContacts", body, {"owner": owner, "emails": emails, "nonce": _nonce(body)})
    try:
        gateway().store.set_contacts(owner.lower(), emails)
    except InvalidInput as error:
        raise BadRequest(str(error)) from None
    log("contacts_set", owner=owner, count=len(emails))
    return jsonify(owner=owner, contacts=len(emails))


@blueprint.post("/onboarding/profile")
def set_profile():
    """The name the patient wants their doctor and emails to use ("" for none) and their time
    zone (IANA), for the times in emails and the AF burden's days."""
    body = validate.json_body()
    owner = validate.address(body.get("owner"), "owner")
    name = body.get("name", "")
    name = "" if name == "" else validate.string(name, "name", max_length=80)
    time_zone = validate.time_zone(body.get("time_zone"), "time_zone")
    _signed("SetProfile", body, {"owner": owner, "name": name, "timeZone": time_zone,
                                 "nonce": _nonce(body)})
    try:
        gateway().store.set_profile(owner.lower(), name or None, time_zone)
    except InvalidInput as error:
        raise BadRequest(str(error)) from None
    log("profile_set", owner=owner)  # never the name
    return jsonify(owner=owner, time_zone=time_zone, named=bool(name))


@blueprint.post("/onboarding/doctor")
def link_doctor():
    body = validate.json_body()
    owner = validate.address(body.get("owner"), "owner")
    doctor = validate.address(body.get("doctor"), "doctor")
    doctor_email = validate.email(body.get("doctor_email"), "doctor_email")
    _signed("LinkDoctor", body, {"owner": owner, "doctor": doctor, "doctorEmail": doctor_email,
                                 "nonce": _nonce(body)})
    try:
        gateway().store.link_doctor(owner.lower(), doctor.lower(), doctor_email)
    except InvalidInput as error:
        raise BadRequest(str(error)) from None
    log("doctor_linked", owner=owner, doctor=doctor)
    return jsonify(owner=owner, doctor=doctor)
