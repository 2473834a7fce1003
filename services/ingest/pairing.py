"""A device's consent to be paired: its pairing code, what the patient hands the gateway with the
pairing request (docs/devices.md, "Pairing").

A peer id is no secret: it is on the device's box and in its QR code, it carries the public key,
and every reading names it. Registered by whoever asked first, an id could be paired by someone who
only read it, and the patient's readings would then be stored for that person, who could read
and sell them. So pairing also needs the device's own signature, which only its key can make:

    code = "<expires_ms>.<base64url signature, no padding>"

signed over the RFC 8785 text of
`{"device": <peer id>, "expires_ms": <int>, "purpose": "pulseledger-pairing"}`. The purpose keeps
the bytes apart from anything else a device signs (a reading or a batch has no such member). The
gateway takes a code once (it remembers spent codes until they expire), so one the device showed
before cannot pair it again after its patient removed it; the expiry bounds how long a code
that leaked and was never used (a photographed QR code) stays good.
"""

from __future__ import annotations

import re

from services.ingest.device_identity import DeviceKey, verify
from services.ingest.reading import b64, canonical, unb64

PURPOSE = "pulseledger-pairing"
CODE_PATTERN = r"[0-9]{1,16}\.[A-Za-z0-9_-]{86}"
_CODE = re.compile(CODE_PATTERN)


class PairingCodeError(ValueError):
    """The code is not a pairing code (its shape); a code of the right shape may still be
    expired or signed by another key (`check_code` says which)."""


def signed_text(device_id: str, expires_ms: int) -> bytes:
    """The bytes a device signs to consent to being paired until `expires_ms`."""
    return canonical({"device": device_id, "expires_ms": expires_ms, "purpose": PURPOSE})


def pairing_code(key: DeviceKey, expires_ms: int) -> str:
    """The code a device shows (as text, or in its QR code's link) for its patient to pair it."""
    return f"{int(expires_ms)}.{b64(key.sign(signed_text(key.user_id, int(expires_ms))))}"


def parse_code(code: str) -> tuple[int, bytes]:
    """(expires_ms, signature); PairingCodeError when the text is not a pairing code."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise PairingCodeError("a pairing code is <expires_ms>.<86-character base64url "
                               "signature>, as the device shows it")
    expires, signature = code.split(".")
    return int(expires), unb64(signature)


def check_code(code: str, device_id: str, public_key: bytes, now_ms: int,
               longest_ms: int) -> str | None:
    """None when `code` is this device's consent, good now; else why not (for the client).
    `longest_ms`: how far ahead an expiry may lie, so no code is good for ever."""
    expires_ms, signature = parse_code(code)
    if expires_ms <= now_ms:
        return "the pairing code has expired: have the device show a new one"
    if expires_ms > now_ms + longest_ms:
        return (f"the pairing code is good for more than {longest_ms // 86_400_000} days: "
                "a device's code must expire sooner")
    if not verify(public_key, signature, signed_text(device_id, expires_ms)):
        return "the pairing code is not signed by this device's key"
    return None
