"""Wallet-signed onboarding requests (EIP-712 with a gateway nonce), as the dapp sends them."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.gateway.typed_data import onboarding_typed_data, sign_typed
from services.ingest.device_identity import peer_id_for

CHAIN_ID = 31337


def device_key() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signed_body(client, signer, primary, message, body):
    nonce = client.get("/auth/nonce").get_json()["nonce"]
    message = {**message, "nonce": nonce}
    signature = sign_typed(onboarding_typed_data(primary, message, CHAIN_ID), signer.key)
    return {**body, "nonce": nonce, "signature": signature.to_0x_hex()}


def register_device(client, patient, signer=None):
    key = device_key()
    device_id = peer_id_for(key)
    body = signed_body(client, signer or patient, "RegisterDevice",
                       {"owner": patient.address, "deviceId": device_id, "publicKey": key},
                       {"owner": patient.address, "device_id": device_id,
                        "public_key": "0x" + key.hex()})
    return client.post("/onboarding/device", json=body), device_id, body


def link_doctor(client, patient, doctor):
    body = signed_body(client, patient, "LinkDoctor",
                       {"owner": patient.address, "doctor": doctor.address,
                        "doctorEmail": "dr@clinic.example"},
                       {"owner": patient.address, "doctor": doctor.address,
                        "doctor_email": "dr@clinic.example"})
    return client.post("/onboarding/doctor", json=body)
