"""What a provider quoting the request it got would write, spelt the ways JSON writers spell it:
as is, with `+` and other characters as `\\u002B` (.NET's default encoder), every character as
`\\uXXXX`. A client's JSON parser reads all three back to the same credential."""

import json

from .conftest import TEST_CREDENTIALS
from .sigv4_verifier import Credentials

SESSION_TOKEN = "IQoJb3JpZ2luX2VjEPulseLedgerQuoted+Session/Token+abc=="
SESSION_CREDENTIALS = Credentials(
    TEST_CREDENTIALS.access_key,
    TEST_CREDENTIALS.secret_key,
    TEST_CREDENTIALS.region,
    TEST_CREDENTIALS.service,
    session_token=SESSION_TOKEN,
)
DOTNET_ESCAPED = "+<>&'`"


def json_string(text: str, spelling: str) -> str:
    """`text` as the inside of a JSON string literal, in one of SPELLINGS."""
    if spelling == "plain":
        return json.dumps(text)[1:-1]
    if spelling == "dotnet":
        return "".join(
            f"\\u{ord(c):04X}" if c in DOTNET_ESCAPED else c for c in json.dumps(text)[1:-1]
        )
    if spelling == "every-character":
        return "".join(f"\\u{ord(c):04x}" for c in text)
    raise ValueError(spelling)


SPELLINGS = ("plain", "dotnet", "every-character")


def _header(headers: dict, name: str) -> str:
    return next(v for k, v in headers.items() if k.lower() == name)


def signature(headers: dict) -> str:
    return _header(headers, "authorization").rsplit("Signature=", 1)[1]


# What of a SigV4-signed request a provider quotes (AWS's 400 for a request it cannot verify
# quotes the whole Authorization header), given the request's headers.
QUOTED = {
    "authorization": lambda h: f"'{_header(h, 'authorization')}' requires 'Credential' parameter",
    "signature": lambda h: f"signature {signature(h)} does not match",
    "access-key-id": lambda h: f"unknown access key {TEST_CREDENTIALS.access_key}",
    "session-token": lambda h: f"X-Amz-Security-Token={_header(h, 'x-amz-security-token')} expired",
}


def secrets_of(headers: dict) -> list[str]:
    return [signature(headers), TEST_CREDENTIALS.access_key, SESSION_TOKEN]


def assert_nothing_quoted(texts, secrets) -> None:
    """No secret in any text, in any spelling."""
    for text in texts:
        for secret in secrets:
            for spelling in SPELLINGS:
                assert json_string(secret, spelling) not in text


def error_answer(request_id, message: str, spelling: str) -> bytes:
    """A JSON-RPC error answer whose message is `message` in the given spelling."""
    literal = json_string(message, spelling)
    return (
        f'{{"jsonrpc":"2.0","id":{json.dumps(request_id)},'
        f'"error":{{"code":-32000,"message":"{literal}"}}}}'
    ).encode()
