"""The test upstreams' SigV4 verifier is a second implementation, not the signer checking itself:
it uses the standard library only (no botocore, nothing of services/), it accepts AWS's own
published test-suite requests (aws-sig-v4-test-suite: credentials AKIDEXAMPLE, 20150830T123600Z,
us-east-1, service "service"; the signatures below are AWS's), and it refuses each way a request
can be wrong."""

import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .sigv4_verifier import Credentials, verify

VERIFIER = Path(__file__).with_name("sigv4_verifier.py")
SUITE = Credentials(
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"
)
SIGNED_AT = datetime(2015, 8, 30, 12, 36, tzinfo=UTC).timestamp()
SCOPE = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
    "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8"
    "FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)

# name: (method, path, query as sent, extra header lines, signed headers, AWS's signature)
AWS_VECTORS = {
    "get-vanilla": (
        "GET", "/", "", [], "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    "post-vanilla": (
        "POST", "/", "", [], "host;x-amz-date",
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ),
    "get-vanilla-query-order-key-case": (
        "GET", "/", "Param2=value2&Param1=value1", [], "host;x-amz-date",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    "get-vanilla-query-order-key": (
        "GET", "/", "Param1=value2&Param1=Value1", [], "host;x-amz-date",
        "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
    ),
    "get-vanilla-utf8-query": (
        "GET", "/", "%E1%88%B4=bar", [], "host;x-amz-date",
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    ),
    "get-unreserved": (
        "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "", [],
        "host;x-amz-date",
        "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    ),
    "post-header-value-case": (
        "POST", "/", "", [("My-Header1", "VALUE1")], "host;my-header1;x-amz-date",
        "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
    ),
    "get-header-value-trim": (
        "GET", "/", "", [("My-Header1", "value1"), ("My-Header2", '"a   b   c"')],
        "host;my-header1;my-header2;x-amz-date",
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ),
    "get-header-key-duplicate": (
        "GET", "/", "",
        [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
        "host;my-header1;x-amz-date",
        "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    ),
    "get-header-value-order": (
        "GET", "/", "",
        [("My-Header1", v) for v in ("value4", "value1", "value3", "value2")],
        "host;my-header1;x-amz-date",
        "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
    ),
    "post-sts-header-after": (
        "POST", "/", "", [("X-Amz-Security-Token", STS_TOKEN)],
        "host;x-amz-date;x-amz-security-token",
        "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
    ),
}  # fmt: skip


def _request(name: str, **change):
    method, path, query, extra, signed, sig = AWS_VECTORS[name]
    headers = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        *extra,
        ("Authorization", f"AWS4-HMAC-SHA256 {SCOPE}, SignedHeaders={signed}, Signature={sig}"),
    ]
    request = {"method": method, "path": path, "query": query, "headers": headers, "body": b""}
    request.update(change)
    return request


def _verify(request: dict, creds: Credentials = SUITE, now: float = SIGNED_AT):
    return verify(
        creds,
        request["method"],
        request["path"],
        request["query"],
        request["headers"],
        request["body"],
        now=now,
    )


@pytest.mark.parametrize("name", AWS_VECTORS)
def test_aws_suite_request__accepted(name):
    creds = SUITE
    if "sts" in name:
        creds = Credentials(
            *[getattr(SUITE, f) for f in ("access_key", "secret_key", "region", "service")],
            STS_TOKEN,
        )
    assert _verify(_request(name), creds) is None


def _with_header(request: dict, name: str, value: str) -> list:
    return [(n, value if n == name else v) for n, v in request["headers"]]


def _without_header(request: dict, name: str) -> list:
    return [(n, v) for n, v in request["headers"] if n != name]


REFUSED = {
    "body-changed": (lambda r: {"body": b"x"}, "signature does not match"),
    "method-changed": (lambda r: {"method": "PUT"}, "signature does not match"),
    "path-changed": (lambda r: {"path": "/other"}, "signature does not match"),
    "query-added": (lambda r: {"query": "a=b"}, "signature does not match"),
    "host-changed": (
        lambda r: {"headers": _with_header(r, "Host", "evil.example")},
        "signature does not match",
    ),
    "unsigned": (lambda r: {"headers": _without_header(r, "Authorization")}, "not signed with AWS4-HMAC-SHA256"),
    "no-date": (lambda r: {"headers": _without_header(r, "X-Amz-Date")}, "missing or malformed x-amz-date"),
    "date-malformed": (
        lambda r: {"headers": _with_header(r, "X-Amz-Date", "20150830 123600")},
        "missing or malformed x-amz-date",
    ),
    "date-other-day": (
        lambda r: {"headers": _with_header(r, "X-Amz-Date", "20150831T123600Z")},
        "date does not match the credential scope",
    ),
    "authorization-garbage": (
        lambda r: {"headers": _with_header(r, "Authorization", "AWS4-HMAC-SHA256 garbage")},
        "incomplete Authorization header",
    ),
    "credential-short": (
        lambda r: {
            "headers": _with_header(
                r, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, SignedHeaders=host;x-amz-date, Signature=00"
            )
        },
        "malformed credential",
    ),
    "host-not-signed": (
        lambda r: {
            "headers": _with_header(
                r,
                "Authorization",
                r["headers"][-1][1].replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date"),
            )
        },
        "host and x-amz-date must be signed",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("change", "reason"), REFUSED.values(), ids=REFUSED)
def test_altered_request__refused_with_reason(change, reason):
    request = _request("post-vanilla")
    assert _verify({**request, **change(request)}) == reason


def test_other_secret_region_or_key__refused():
    request = _request("post-vanilla")
    fields = ("access_key", "secret_key", "region", "service")
    values = [getattr(SUITE, f) for f in fields]
    for i, reason in enumerate(
        [
            "unknown access key",
            "signature does not match",
            "wrong credential scope",
            "wrong credential scope",
        ]
    ):
        other = list(values)
        other[i] = "other"
        assert _verify(request, Credentials(*other)) == reason


def test_expired_or_future_signature__refused():
    request = _request("post-vanilla")
    assert _verify(request, now=SIGNED_AT + 301) == "signature expired"
    assert _verify(request, now=SIGNED_AT - 301) == "signature expired"


def test_session_token__required_when_credentials_have_one():
    creds = Credentials(SUITE.access_key, SUITE.secret_key, SUITE.region, SUITE.service, STS_TOKEN)
    assert _verify(_request("post-vanilla"), creds) == "missing or wrong session token"
    sts = _request("post-sts-header-after")
    assert _verify(
        {**sts, "headers": _with_header(sts, "X-Amz-Security-Token", "other")}, creds
    ) == ("missing or wrong session token")


def test_verifier_source__standard_library_only():
    tree = ast.parse(VERIFIER.read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_verifier_import__loads_no_aws_sdk_and_nothing_of_the_proxy():
    probe = (
        "import sys, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('v', {str(VERIFIER)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('botocore', 'boto3', 'services')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
