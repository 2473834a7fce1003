"""What a wallet-holding user does against the data gateway over HTTP: sign in (EIP-4361), onboard
(EIP-712 signed device, contacts, doctor), relay a consent decision, read a record.

Used by the demo actors of `pulseledger up` and by the whole-story test, so both drive the system
the same way a dapp or a buyer's program would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests
from eth_account.messages import encode_defunct

from services.chain.eip712 import Decision, sign_consent_decision
from services.gateway.siwe import build_message
from services.gateway.typed_data import onboarding_typed_data, sign_typed
from services.ingest.device_identity import DeviceKey
from services.ingest.pairing import pairing_code

PAIRING_CODE_GOOD_FOR_MS = 600_000  # made just before it is used


class GatewayRefused(RuntimeError):
    def __init__(self, response: requests.Response):
        self.status = response.status_code
        try:
            self.error = response.json().get("error")
        except ValueError:
            self.error = None
        super().__init__(f"gateway answered {self.status} {self.error or response.text[:200]}")


@dataclass
class GatewayClient:
    base_url: str
    timeout_s: float = 10.0
    session: requests.Session = field(default_factory=requests.Session)

    def _url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def get(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.get(self._url(path), headers=headers, timeout=self.timeout_s, **kwargs)

    def post(self, path: str, body: dict, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.post(self._url(path), json=body, headers=headers,
                                 timeout=self.timeout_s)

    def _ok(self, response: requests.Response) -> dict:
        if response.status_code >= 400:
            raise GatewayRefused(response)
        return response.json()

    def nonce(self) -> dict:
        return self._ok(self.get("/auth/nonce"))

    def sign_in(self, account) -> str:
        issued = self.nonce()
        text = build_message(domain=issued["domain"], address=account.address, uri=issued["uri"],
                             chain_id=issued["chain_id"], nonce=issued["nonce"],
                             statement=issued.get("statement"))
        signature = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
        return self._ok(self.post("/auth/sign-in", {"message": text,
                                                    "signature": signature}))["token"]

    def _signed(self, account, primary: str, message: dict, body: dict) -> dict:
        issued = self.nonce()
        signature = sign_typed(onboarding_typed_data(primary, {**message, "nonce": issued["nonce"]},
                                                     issued["chain_id"]), account.key)
        return {**body, "nonce": issued["nonce"], "signature": signature.to_0x_hex()}

    def register_device(self, account, device: DeviceKey) -> str:
        """Pair a wearable with `account` (its pairing code made here: the demo holds its
        wearables' keys); answers its device id."""
        device_id, public_key = device.user_id, device.public_bytes
        code = pairing_code(device, int(time.time() * 1000) + PAIRING_CODE_GOOD_FOR_MS)
        body = self._signed(account, "RegisterDevice",
                            {"owner": account.address, "deviceId": device_id,
                             "publicKey": public_key},
                            {"owner": account.address, "device_id": device_id,
                             "public_key": "0x" + public_key.hex(), "pairing_code": code})
        self._ok(self.post("/onboarding/device", body))
        return device_id

    def set_contacts(self, account, emails: list[str]) -> None:
        self._ok(self.post("/onboarding/contacts", self._signed(
            account, "SetContacts", {"owner": account.address, "emails": emails},
            {"owner": account.address, "emails": emails})))

    def link_doctor(self, account, doctor_address: str, doctor_email: str) -> None:
        self._ok(self.post("/onboarding/doctor", self._signed(
            account, "LinkDoctor",
            {"owner": account.address, "doctor": doctor_address, "doctorEmail": doctor_email},
            {"owner": account.address, "doctor": doctor_address, "doctor_email": doctor_email})))

    def confirm_email(self, secret: str) -> bool:
        """Send back a secret a confirmation email carried; False when it was used or expired.
        Waits out the gateway's budget of confirmations (429, Retry-After) as a person would."""
        response = self.post("/onboarding/emails/confirm", {"token": secret})
        while response.status_code == 429:
            time.sleep(min(60.0, float(response.headers.get("Retry-After", "1"))))
            response = self.post("/onboarding/emails/confirm", {"token": secret})
        if response.status_code == 404:
            return False
        self._ok(response)
        return True

    def relay_decision(self, account, *, chain_id: int, contract: str, request_id: int,
                       decision: Decision, nonce: int, deadline: int) -> dict:
        """The patient signs; the gateway pays the gas (decideBySig)."""
        signature = sign_consent_decision(
            account.key, chain_id=chain_id, verifying_contract=contract, request_id=request_id,
            decision=decision, nonce=nonce, deadline=deadline)
        return self._ok(self.post("/relay/consent-decision", {
            "request_id": request_id, "decision": decision.name.lower(), "deadline": deadline,
            "signature": "0x" + signature.hex()}))

    def read_record(self, token: str, record_id: str, purchase_id: int) -> requests.Response:
        return self.get(f"/records/{record_id}", token, params={"purchase_id": purchase_id})
