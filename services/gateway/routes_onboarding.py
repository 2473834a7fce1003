"""Onboarding, each request signed by the patient's wallet (EIP-712, gateway-issued nonce)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Blueprint, jsonify, request

from services.gateway import validate
from services.gateway.context import client_address, gateway
from services.gateway.email_confirmations import (
    SECRET_PATTERN,
    ask_to_confirm,
    ask_to_confirm_all,
    new_pending,
    recently_asked,
    secret_digest,
)
from services.gateway.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from services.gateway.json_input import UnsupportedMediaType
from services.gateway.observability import log
from services.gateway.typed_data import onboarding_typed_data, recover_typed
from services.ingest.device_identity import peer_id_for, usable_public_key
from services.ingest.pairing import PairingCodeError, check_code, parse_code
from services.notify.stop_links import ONE_CLICK_PATH, TOKEN_HEX, token_matches
from services.records import Conflict as StoreConflict
from services.records import InvalidInput

blueprint = Blueprint("onboarding", __name__)
ONE_CLICK_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


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
    """The patient's alert addresses. One no longer listed stops getting alerts at once; a new
    one is mailed a confirmation link and gets alerts once its mailbox confirmed
    (email_confirmations.py); one already waiting is mailed again only after
    `email_resend_after_s`."""
    body = validate.json_body()
    owner = validate.address(body.get("owner"), "owner")
    emails = validate.emails(body.get("emails"))
    _signed("SetContacts", body, {"owner": owner, "emails": emails, "nonce": _nonce(body)})
    gw, patient = gateway(), owner.lower()
    wanted = list(dict.fromkeys(e.strip() for e in emails))
    confirmed = gw.store.get_contacts(patient)
    now_ms = int(time.time() * 1000)
    waiting = {p.email: p for p in gw.store.pending_emails(patient, now_ms)
               if p.purpose == "contact"}
    to_ask = [e for e in wanted if e not in confirmed
              and not (e in waiting and recently_asked(gw, waiting[e], now_ms))]
    try:
        gw.store.set_contacts(patient, [e for e in confirmed if e in wanted])
        gw.store.drop_email_confirmations(patient, "contact", frozenset(
            e for e in wanted if e not in confirmed and e not in to_ask))
    except InvalidInput as error:
        raise BadRequest(str(error)) from None
    ask_to_confirm_all(gw, [new_pending(gw, patient, email, "contact") for email in to_ask])
    log("contacts_set", owner=owner, count=len(wanted), confirmations_sent=len(to_ask))
    kept = sum(e in confirmed for e in wanted)
    return jsonify(owner=owner, contacts=kept, waiting=len(wanted) - kept,
                   confirmations_sent=len(to_ask))


@blueprint.post("/onboarding/emails/confirm")
def confirm_email():
    """The link a named address was mailed came back: no signature, the secret only its mailbox
    saw is the proof. Each link works once."""
    gw = gateway()
    gw.budgets.spend(gw.limits.confirms, client_address())
    body = validate.json_body()
    secret = validate.string(body.get("token"), "token", max_length=43, pattern=SECRET_PATTERN)
    confirmed = gw.store.confirm_email(secret_digest(secret), int(time.time() * 1000))
    if confirmed is None:
        raise NotFound("this confirmation link is unknown, used or expired; for a doctor's "
                       "address, the patient may have linked another doctor since")
    log("email_confirmed", owner=confirmed.owner, purpose=confirmed.purpose)
    return jsonify(owner=validate.address(confirmed.owner), purpose=confirmed.purpose,
                   email=confirmed.email)


@blueprint.post("/onboarding/emails/stop")
def stop_emails():
    """The link at the end of every email: its recipient gets no more of this account's emails
    (services/notify/stop_links.py). No signature: the token, a keyed digest only the
    services holding the records master key can make, is the proof."""
    gw = gateway()
    gw.budgets.spend(gw.limits.confirms, client_address())
    body = validate.json_body()
    owner, email, stopped = _stop(body.get("owner"), body.get("email"), body.get("token"))
    return jsonify(owner=owner, email=email, stopped=stopped)


@blueprint.post(ONE_CLICK_PATH)
def one_click_stop():
    """RFC 8058's one-click unsubscribe: a mail client's own button POSTs
    `List-Unsubscribe=One-Click` to the List-Unsubscribe URL of an alert or relay email (its
    query: the stop link's owner, email and token). The budget is the (account, address)
    pair's, not the client's: the clients are mail providers, whose few addresses carry the
    buttons of all their users; a stranger without the key makes no valid pair."""
    gw = gateway()
    if request.mimetype not in ONE_CLICK_FORMS:
        raise UnsupportedMediaType("send the form RFC 8058 names (Content-Type: "
                                   "application/x-www-form-urlencoded or multipart/form-data)")
    if request.form.get("List-Unsubscribe") != "One-Click":
        raise BadRequest('the body must be the form "List-Unsubscribe=One-Click" (RFC 8058)')
    owner, email = request.args.get("owner"), request.args.get("email")
    pair = hashlib.sha256(f"{owner}\n{email}".encode()).hexdigest()
    gw.budgets.spend(gw.limits.confirms, f"one-click:{pair}")
    owner, email, stopped = _stop(owner, email, request.args.get("token"))
    return jsonify(owner=owner, email=email, stopped=stopped)


def _stop(owner: Any, email: Any, token: Any) -> tuple[str, str, bool]:
    """(owner, email, stopped) once the token proves the pair; 400 malformed, 403 no match."""
    gw = gateway()
    owner = validate.address(owner, "owner")
    email = validate.email(email, "email")
    token = validate.string(token, "token", max_length=TOKEN_HEX,
                            pattern=f"[0-9a-f]{{{TOKEN_HEX}}}")
    if not token_matches(gw.store, owner, email, token):
        raise Forbidden("this stop link does not match its patient and address: open the whole "
                        "link from the email")
    try:
        stopped = gw.store.stop_emails(owner.lower(), email)
    except InvalidInput as error:
        raise BadRequest(str(error)) from None
    log("emails_stopped", owner=owner, stopped=stopped)
    return owner, email, stopped


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
    """The doctor may read the patient's windows at once; their address gets alerts once its
    mailbox confirmed (email_confirmations.py), unless it is the one already confirmed."""
    body = validate.json_body()
    owner = validate.address(body.get("owner"), "owner")
    doctor = validate.address(body.get("doctor"), "doctor")
    doctor_email = validate.email(body.get("doctor_email"), "doctor_email")
    _signed("LinkDoctor", body, {"owner": owner, "doctor": doctor, "doctorEmail": doctor_email,
                                 "nonce": _nonce(body)})
    gw, patient = gateway(), owner.lower()
    current = gw.store.get_doctor(patient)
    confirmed = current is not None and current.address == doctor.lower() \
        and current.email == doctor_email
    if not confirmed:
        try:
            gw.store.drop_email_confirmations(patient, "doctor")
            gw.store.link_doctor(patient, doctor.lower(), None)
        except InvalidInput as error:
            raise BadRequest(str(error)) from None
        ask_to_confirm(gw, new_pending(gw, patient, doctor_email, "doctor", doctor.lower()))
    log("doctor_linked", owner=owner, doctor=doctor, email_confirmed=confirmed)
    return jsonify(owner=owner, doctor=doctor, email_confirmed=confirmed)
