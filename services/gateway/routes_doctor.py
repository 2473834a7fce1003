"""A doctor's own list: the patients who linked the signed-in doctor (and nobody else's).

What the doctor may then read of each patient is decided where it is served
(`context.owner_or_doctor`): their windows, alerts and live stream, never their contact emails.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from services.gateway.context import gateway, signed_in
from services.gateway.validate import address

blueprint = Blueprint("doctor", __name__)


@blueprint.get("/doctor/patients")
def my_patients():
    """The doctor is the session's address: there is no parameter naming another doctor."""
    doctor = signed_in()
    store = gateway().store
    limit = gateway().settings.max_list_limit
    patients = [{"address": address(owner, "patient"),
                 "devices": [device.device_id for device in store.devices_of(owner)]}
                for owner in store.patients_of_doctor(doctor.lower())[:limit]]
    return jsonify(doctor=doctor, patients=patients)
