"""An independent SigV4 verifier for the test upstream: the canonical request and signing key are
rebuilt here from the AWS specification, not by botocore, so the proxy's signer is checked by a
second implementation."""

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    region: str
    service: str


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        key, _, value = part.partition("=")
        pairs.append((quote(key, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def verify(
    creds: Credentials, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> str | None:
    """None when the request carries a valid signature by `creds`, else the reason it does not."""
    headers = {k.lower(): v for k, v in headers.items()}
    authorization = headers.get("authorization", "")
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return "not signed with AWS4-HMAC-SHA256"
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    try:
        credential, signed_headers, signature = (
            fields["Credential"],
            fields["SignedHeaders"],
            fields["Signature"],
        )
    except KeyError:
        return "incomplete Authorization header"
    access_key, date, region, service, terminator = credential.split("/")
    amz_date = headers.get("x-amz-date", "")
    if access_key != creds.access_key:
        return "unknown access key"
    if (region, service, terminator) != (creds.region, creds.service, "aws4_request"):
        return "wrong credential scope"
    if not amz_date.startswith(date):
        return "date does not match the credential scope"
    signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    if abs(time.time() - signed_at) > MAX_SKEW_SECONDS:
        return "signature expired"
    signed = signed_headers.split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    if any(h not in headers for h in signed):
        return "a signed header is missing"
    canonical_headers = "".join(f"{h}:{' '.join(headers[h].strip().split())}\n" for h in signed)
    canonical_request = "\n".join(
        [
            method,
            quote(path or "/", safe="/-_.~"),
            _canonical_query(query),
            canonical_headers,
            signed_headers,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + creds.secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "signature does not match"
    return None
