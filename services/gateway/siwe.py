"""Sign-In with Ethereum (EIP-4361) on the maintained `siwe` package.

The client asks for a nonce, builds the EIP-4361 message, signs it with personal_sign (EIP-191)
and posts message + signature. We parse with `siwe` (its EIP-4361 grammar and field validation:
RFC 3986 authority and URIs, EIP-55 address, version 1, RFC 3339 times), insist the text is the
message's canonical form (what is checked is exactly what was signed), check domain, scheme, URI,
chain id and times against this gateway, verify the signature — an EOA by recovery, a contract
wallet by EIP-1271 `isValidSignature` on our chain — and only then spend the nonce, so a bad
signature never burns an honest client's nonce.

`siwe` parses with its regular-expression grammar, not its ABNF one: on these machines the ABNF
parser took 11–84 ms for an ordinary message and 3–6 s for a 3 KB statement (an unauthenticated
CPU sink); the regular expression takes under 1 ms (14 ms at worst on hostile input of 4 KB).
Where it is looser than the ABNF, siwe_grammar.py adds the grammar's own rules; together they pass
the EIP-4361 conformance vectors (tests/gateway/vectors/) and accept no mutated message the ABNF
refuses (tests/gateway/test_siwe_vectors.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import requests
import siwe
from pydantic import ValidationError
from siwe.siwe import datetime_from_iso8601_string
from web3.exceptions import Web3Exception

from services.gateway.errors import BadRequest, Unauthorized, Unavailable
from services.gateway.nonces import NonceBook
from services.gateway.siwe_grammar import check_grammar

MAX_MESSAGE_CHARS = 4096
MAX_SIGNATURE_HEX = 4096  # EIP-1271 wallets may sign with more than 65 bytes (multisig owners)
CLOCK_SKEW_S = 60
_SIGNATURE = re.compile(r"0x(?:[0-9a-fA-F]{2})*")


def build_message(*, domain: str, address: str, uri: str, chain_id: int, nonce: str,
                  statement: str | None = None, issued_at: datetime | None = None,
                  expiration_time: datetime | None = None) -> str:
    """The EIP-4361 text a wallet signs (what our own clients and the tests produce)."""
    fields: dict[str, Any] = {
        "domain": domain, "address": address, "uri": uri, "version": "1", "chain_id": chain_id,
        "nonce": nonce, "statement": statement or None,
        "issued_at": siwe.ISO8601Datetime.from_datetime(issued_at or datetime.now(UTC))}
    if expiration_time is not None:
        fields["expiration_time"] = siwe.ISO8601Datetime.from_datetime(expiration_time)
    return siwe.SiweMessage(**fields).prepare_message()


def parse_message(text: Any) -> siwe.SiweMessage:
    """An EIP-4361 message in canonical form, or BadRequest saying why not."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_MESSAGE_CHARS:
        raise BadRequest(f"message must be an EIP-4361 text of at most {MAX_MESSAGE_CHARS} "
                         "characters")
    try:
        message = siwe.SiweMessage.from_message(text, abnf=False)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise BadRequest(f"message is not an EIP-4361 sign-in message: {_reason(error)}") \
            from None
    if message.prepare_message() != text:
        raise BadRequest("message is not in EIP-4361's canonical form (line order, blank "
                         "lines, no trailing newline)")
    check_grammar(message)
    return message


def check_signature_shape(signature: Any) -> str:
    if not isinstance(signature, str) or len(signature) > MAX_SIGNATURE_HEX + 2 \
            or not _SIGNATURE.fullmatch(signature):
        raise BadRequest("signature must be 0x-prefixed hex (65 bytes for an account; a "
                         "contract wallet's EIP-1271 signature may differ)")
    return signature


def verify_sign_in(text: Any, signature: Any, *, domain: str, uri: str, chain_id: int,
                   nonces: NonceBook, provider: Any | None = None) -> str:
    """Check an EIP-4361 sign-in and return the signer's checksummed address. `provider` (a web3
    provider on our chain) enables contract wallets (EIP-1271); without it only accounts sign."""
    message = parse_message(text)
    signature = check_signature_shape(signature)
    if message.domain != domain:
        raise Unauthorized(f"message domain must be {domain}")
    if message.scheme is not None and message.scheme != uri.split("://", 1)[0]:
        raise Unauthorized(f"message scheme must be {uri.split('://', 1)[0]}")
    if message.uri != uri:
        raise Unauthorized(f"message URI must be {uri}")
    if message.chain_id != chain_id:
        raise Unauthorized(f"message chain id must be {chain_id}")
    now = datetime.now(UTC)
    if (_time(message.issued_at) - now).total_seconds() > CLOCK_SKEW_S:
        raise Unauthorized("message issued in the future")
    if message.expiration_time is not None and _time(message.expiration_time) <= now:
        raise Unauthorized("message expired")
    if message.not_before is not None and _time(message.not_before) > now:
        raise Unauthorized("message not valid yet")
    try:
        message.verify(signature, timestamp=now, provider=provider)
    except siwe.VerificationError:
        raise Unauthorized("signature is not by the message's address") from None
    except (requests.RequestException, OSError):
        raise Unavailable("the chain is unreachable: cannot check a contract wallet's "
                          "signature") from None
    except (Web3Exception, ValueError):
        raise Unauthorized("signature is not by the message's address") from None
    nonces.consume(message.nonce)  # last, so a bad signature does not burn the honest nonce
    return message.address


def _time(value: siwe.ISO8601Datetime) -> datetime:
    return datetime_from_iso8601_string(value)


def _reason(error: ValueError) -> str:
    """The first field pydantic complains about, without echoing the input back."""
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'message'} is invalid"
    return "it does not follow the EIP-4361 layout"
