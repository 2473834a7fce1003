"""An independent AWS Signature Version 4 verifier for the test upstreams.

It recomputes the signature from the raw request as received (method, path, query, every header
line in order, body) by the AWS specification
(docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), with the standard library
only: no botocore, nothing from services/ (test_sigv4.py checks both, and checks this code
against AWS's own published test-suite vectors). So the proxy's signer (botocore) is judged by a
second implementation, not by itself.

What a request must have to pass: an `AWS4-HMAC-SHA256` Authorization header with a well-formed
Credential (our access key, our region and service, `aws4_request`), SignedHeaders covering
`host` and `x-amz-date` (and `x-amz-security-token` whenever it is sent; it must be sent and
equal ours when the credentials carry one), an `X-Amz-Date` within five minutes and on the
Credential's day, and a signature equal to the one recomputed. Anything malformed is a reason,
never an exception."""

import hashlib
import hmac
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

MAX_SKEW_SECONDS = 300
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_UNRESERVED = "-_.~"


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str
    service: str
    session_token: str | None = None


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _encode(text: str) -> str:
    """URI-encode every byte but the unreserved characters (A-Z a-z 0-9 - _ . ~), upper-case hex."""
    return quote(text, safe=_UNRESERVED)


def canonical_query(query: str) -> str:
    """Each name and value decoded, then encoded the AWS way, sorted by name then value."""
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def canonical_path(path: str) -> str:
    """For services other than S3 the path as sent is encoded once more (so twice in all)."""
    return quote(path or "/", safe="/" + _UNRESERVED)


def combined_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-case names; a header sent several times is one, its values joined by commas in the
    order received; values trimmed, inner runs of spaces made one."""
    combined: dict[str, list[str]] = {}
    for name, value in headers:
        combined.setdefault(name.lower().strip(), []).append(" ".join(value.strip().split()))
    return {name: ",".join(values) for name, values in combined.items()}


def signature(
    creds: Credentials,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    signed_headers: list[str],
    body: bytes,
    amz_date: str,
) -> str:
    """The hex signature of a request (headers as combined_headers returns them)."""
    canonical_request = "\n".join(
        [
            method,
            canonical_path(path),
            canonical_query(query),
            "".join(f"{h}:{headers[h]}\n" for h in signed_headers),
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    date = amz_date[:8]
    scope = f"{date}/{creds.region}/{creds.service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + creds.secret_key).encode(), date)
    for part in (creds.region, creds.service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _authorization_fields(authorization: str) -> dict[str, str] | None:
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return None
    fields = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            return {}
        fields[name] = value
    return fields


def verify(
    creds: Credentials,
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    now: float | None = None,
) -> str | None:
    """None when the request carries a valid signature by `creds`, else the reason it does not.
    `headers` are every header line as received, duplicates included."""
    headers = combined_headers(headers)
    fields = _authorization_fields(headers.get("authorization", ""))
    if fields is None:
        return "not signed with AWS4-HMAC-SHA256"
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        return "incomplete Authorization header"
    credential = fields["Credential"].split("/")
    if len(credential) != 5:
        return "malformed credential"
    access_key, date, region, service, terminator = credential
    if access_key != creds.access_key:
        return "unknown access key"
    if (region, service, terminator) != (creds.region, creds.service, "aws4_request"):
        return "wrong credential scope"
    amz_date = headers.get("x-amz-date", "")
    if not _AMZ_DATE.fullmatch(amz_date):
        return "missing or malformed x-amz-date"
    if amz_date[:8] != date:
        return "date does not match the credential scope"
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return "missing or malformed x-amz-date"
    if abs((time.time() if now is None else now) - signed_at) > MAX_SKEW_SECONDS:
        return "signature expired"
    signed = fields["SignedHeaders"].split(";")
    if signed != sorted(set(signed)) or any(not h or h != h.lower() for h in signed):
        return "signed headers not lower-case, unique and sorted"
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    if any(h not in headers for h in signed):
        return "a signed header is missing"
    token = headers.get("x-amz-security-token")
    if creds.session_token is not None and token != creds.session_token:
        return "missing or wrong session token"
    if token is not None and "x-amz-security-token" not in signed:
        return "session token sent but not signed"
    content_hash = headers.get("x-amz-content-sha256")
    if content_hash is not None and content_hash != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 does not match the body"
    expected = signature(creds, method, path, query, headers, signed, body, amz_date)
    if not hmac.compare_digest(expected, fields["Signature"]):
        return "signature does not match"
    return None
