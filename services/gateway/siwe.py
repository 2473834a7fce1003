"""Sign-In with Ethereum (EIP-4361): single-use expiring nonces, message parsing and checks.

The client asks for a nonce, builds the EIP-4361 message, signs it with personal_sign (EIP-191) and
posts message + signature; the gateway checks domain, URI, version, chain id, nonce and times, then
recovers the signer with eth_account and compares it with the message's address.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

from services.gateway.errors import BadRequest, Unauthorized

_MESSAGE = re.compile(
    r"^(?P<domain>[^\s]+) wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    r"(?:(?P<statement>[^\n]+)\n)?"
    r"\n"
    r"URI: (?P<uri>[^\s]+)\n"
    r"Version: (?P<version>[^\n]+)\n"
    r"Chain ID: (?P<chain_id>[0-9]+)\n"
    r"Nonce: (?P<nonce>[a-zA-Z0-9]{8,})\n"
    r"Issued At: (?P<issued_at>[^\n]+)"
    r"(?:\nExpiration Time: (?P<expiration_time>[^\n]+))?"
    r"(?:\nNot Before: (?P<not_before>[^\n]+))?"
    r"(?:\nRequest ID: (?P<request_id>[^\n]*))?"
    r"(?:\nResources:(?P<resources>(?:\n- [^\n]+)*))?\n?$"
)
MAX_MESSAGE_CHARS = 4096
CLOCK_SKEW_S = 60


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None


def build_message(*, domain: str, address: str, uri: str, chain_id: int, nonce: str,
                  statement: str | None = None, issued_at: datetime | None = None,
                  expiration_time: datetime | None = None) -> str:
    """The EIP-4361 text a wallet signs (what the dapp and the tests produce)."""
    issued_at = issued_at or datetime.now(UTC)
    lines = [f"{domain} wants you to sign in with your Ethereum account:", address, ""]
    if statement:
        lines.append(statement)
    lines += ["", f"URI: {uri}", "Version: 1", f"Chain ID: {chain_id}", f"Nonce: {nonce}",
              f"Issued At: {_iso(issued_at)}"]
    if expiration_time:
        lines.append(f"Expiration Time: {_iso(expiration_time)}")
    return "\n".join(lines)


def parse_message(text: str) -> SiweMessage:
    if not isinstance(text, str) or len(text) > MAX_MESSAGE_CHARS:
        raise BadRequest("message must be an EIP-4361 text of at most 4096 characters")
    match = _MESSAGE.match(text)
    if match is None:
        raise BadRequest("message is not an EIP-4361 sign-in message")
    fields = match.groupdict()
    if not is_checksum_address(fields["address"]):
        raise BadRequest("message address must be EIP-55 checksummed")
    return SiweMessage(
        domain=fields["domain"], address=fields["address"], statement=fields["statement"],
        uri=fields["uri"], version=fields["version"], chain_id=int(fields["chain_id"]),
        nonce=fields["nonce"], issued_at=_parse_time(fields["issued_at"], "Issued At"),
        expiration_time=_parse_time(fields["expiration_time"], "Expiration Time"),
        not_before=_parse_time(fields["not_before"], "Not Before"),
    )


def recover_signer(text: str, signature: str) -> str:
    """The address that personal_sign-ed this text (EIP-191 version 0x45)."""
    if not isinstance(signature, str) or not re.fullmatch(r"0x[0-9a-fA-F]{130}", signature):
        raise BadRequest("signature must be 65 bytes of hex (0x + 130 hex digits)")
    try:
        return Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # noqa: BLE001 - eth_keys raises several types for malformed r/s/v
        raise Unauthorized("signature does not recover to an address") from None


class NonceBook:
    """Single-use, expiring nonces held in memory (the gateway runs as one process)."""

    def __init__(self, ttl_s: float, capacity: int):
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self) -> str:
        nonce = secrets.token_hex(16)
        with self._lock:
            self._drop_expired()
            while len(self._expiry) >= self._capacity:
                self._expiry.popitem(last=False)
            self._expiry[nonce] = time.monotonic() + self._ttl_s
        return nonce

    def consume(self, nonce: str) -> None:
        """Accept a nonce once; a second use, an unknown or an expired nonce is refused."""
        with self._lock:
            expires = self._expiry.pop(nonce, None)
        if expires is None:
            raise Unauthorized("nonce unknown or already used: ask for a new one")
        if expires < time.monotonic():
            raise Unauthorized("nonce expired: ask for a new one")

    def _drop_expired(self) -> None:
        now = time.monotonic()
        while self._expiry:
            _nonce, expires = next(iter(self._expiry.items()))
            if expires >= now:
                break
            self._expiry.popitem(last=False)


def verify_sign_in(text: str, signature: str, *, domain: str, uri: str, chain_id: int,
                   nonces: NonceBook) -> str:
    """Check an EIP-4361 sign-in and return the signer's checksummed address."""
    message = parse_message(text)
    if message.domain != domain:
        raise Unauthorized(f"message domain must be {domain}")
    if message.uri != uri:
        raise Unauthorized(f"message URI must be {uri}")
    if message.version != "1":
        raise Unauthorized("message version must be 1")
    if message.chain_id != chain_id:
        raise Unauthorized(f"message chain id must be {chain_id}")
    now = datetime.now(UTC)
    if (message.issued_at - now).total_seconds() > CLOCK_SKEW_S:
        raise Unauthorized("message issued in the future")
    if message.expiration_time and message.expiration_time <= now:
        raise Unauthorized("message expired")
    if message.not_before and message.not_before > now:
        raise Unauthorized("message not valid yet")
    signer = recover_signer(text, signature)
    if signer != message.address:
        raise Unauthorized("signature is not by the message's address")
    nonces.consume(message.nonce)  # last, so a bad signature does not burn the honest nonce
    return signer


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{name} must carry a time zone")
    return parsed


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
