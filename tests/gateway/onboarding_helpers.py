"""Wallet-signed onboarding requests (EIP-712 with a gateway nonce), as the dapp sends them."""

import time
from pathlib import Path

from services.gateway.email_confirmations import secrets_in
from services.gateway.typed_data import onboarding_typed_data, sign_typed
from services.ingest.device_identity import DeviceKey
from services.ingest.pairing import pairing_code
from services.notify.outbox import plain_text, read_outbox

CHAIN_ID = 31337
DAY_MS = 86_400_000


def device_key() -> bytes:
    return DeviceKey.generate().public_bytes


def fresh_code(device: DeviceKey, good_for_ms: int = DAY_MS) -> str:
    """The pairing code the device shows (services/ingest/pairing.py), good for a day."""
    return pairing_code(device, int(time.time() * 1000) + good_for_ms)


def signed_body(client, signer, primary, message, body):
    nonce = client.get("/auth/nonce").get_json()["nonce"]
    message = {**message, "nonce": nonce}
    signature = sign_typed(onboarding_typed_data(primary, message, CHAIN_ID), signer.key)
    return {**body, "nonce": nonce, "signature": signature.to_0x_hex()}


def register_device(client, patient, signer=None, device: DeviceKey | None = None,
                    code: str | None = None):
    """Pair a wearable (a new one unless `device`) with its own pairing code unless `code`."""
    device = device or DeviceKey.generate()
    key, device_id = device.public_bytes, device.user_id
    body = signed_body(client, signer or patient, "RegisterDevice",
                       {"owner": patient.address, "deviceId": device_id, "publicKey": key},
                       {"owner": patient.address, "device_id": device_id,
                        "public_key": "0x" + key.hex(),
                        "pairing_code": fresh_code(device) if code is None else code})
    return client.post("/onboarding/device", json=body), device_id, body


def link_doctor(client, patient, doctor, email: str = "dr@clinic.example"):
    body = signed_body(client, patient, "LinkDoctor",
                       {"owner": patient.address, "doctor": doctor.address,
                        "doctorEmail": email},
                       {"owner": patient.address, "doctor": doctor.address,
                        "doctor_email": email})
    return client.post("/onboarding/doctor", json=body)


def set_contacts(client, patient, emails: list[str]):
    body = signed_body(client, patient, "SetContacts",
                       {"owner": patient.address, "emails": emails},
                       {"owner": patient.address, "emails": emails})
    return client.post("/onboarding/contacts", json=body)


def mailed_secrets(outbox: Path, to: str) -> list[str]:
    """The confirmation secrets mailed to `to` so far, oldest first (what its owner clicks)."""
    return [secret for message in read_outbox(outbox) if message["To"] == to
            for secret in secrets_in(plain_text(message))]


def confirm(client, secret: str):
    return client.post("/onboarding/emails/confirm", json={"token": secret})
