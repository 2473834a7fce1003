"""A patient's onboarding as it stands (paired devices, contact emails and those waiting for their
confirmation, linked doctor), so the dapp can show each step's state. Only the patient: contact
emails are theirs alone, not the doctor's (a doctor reads windows and alerts, see
routes_owner)."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify

from services.gateway import validate
from services.gateway.context import gateway, signed_in
from services.gateway.errors import Forbidden

blueprint = Blueprint("profile", __name__)


@blueprint.get("/patients/<owner>/profile")
def profile(owner: str):
    owner = validate.address(owner, "owner")
    if signed_in() != owner:
        raise Forbidden("only the patient may read their own onboarding details")
    store = gateway().store
    doctor = store.get_doctor(owner.lower())
    profile = store.get_profile(owner.lower())
    waiting = store.pending_emails(owner.lower(), int(time.time() * 1000))
    return jsonify(
        owner=owner, name=profile.name, time_zone=profile.time_zone,
        devices=[{"device_id": d.device_id, "public_key": "0x" + d.public_key.hex()}
                 for d in store.devices_of(owner.lower())],
        contacts=store.get_contacts(owner.lower()),
        # addresses mailed a confirmation link, getting nothing until it comes back
        waiting=[{"email": p.email, "purpose": p.purpose} for p in waiting],
        doctor=None if doctor is None else {"address": validate.address(doctor.address),
                                            "email": doctor.email})
