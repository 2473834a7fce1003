"""Every bad body and query, on every endpoint the app has (found from its URL map, so endpoints
added later are covered too), is a 4xx with a message: never a 500."""

import json

import pytest

from services.gateway.openapi import openapi_document
from tests.gateway.conftest import bearer, sign_in

RECORD_ID = "0x" + "ab" * 32
OWNER = "0x" + "12" * 20

HOSTILE_BODIES = {
    "nested arrays past the decoder's recursion": b"[" * 4000 + b"]" * 4000,
    "nested objects past the decoder's recursion": b'{"a":' * 1200 + b"1" + b"}" * 1200,
    "nested deeper than the gateway allows": b"[" * 40 + b"]" * 40,
    "an integer of 5000 digits": b'{"request_id": ' + b"9" * 5000 + b"}",
    "a float that overflows": b'{"request_id": 1e999}',
    "NaN": b'{"request_id": NaN}',
    "Infinity": b'{"deadline": -Infinity}',
    "a repeated key": b'{"owner": "a", "owner": "b"}',
    "bytes that are not UTF-8": b'{"owner": "\xff\xfe"}',
    "not JSON": b"{owner: 1",
    "empty": b"",
    "an array": b"[1, 2]",
    "a string": b'"hello"',
    "null": b"null",
}
WRONG_VALUES = [[], {}, None, True, -1, 1.5, 10**77, "x" * 3000, "", "0x", "\u0000"]


BODYLESS = {"/auth/sign-out"}


@pytest.fixture()
def app(app_with):
    """Budgets out of the way: every request here is meant to reach the body's parsing."""
    return app_with(relay_per_ip=10**6)


def _post_routes(app, owner=OWNER):
    """Every POST endpoint; `<owner>` is the signed-in caller where the body must get past the
    owner check to be parsed at all."""
    rules = [r for r in app.url_map.iter_rules()
             if "POST" in (r.methods or set()) and r.rule not in BODYLESS]
    assert rules, "the app has POST endpoints"
    return [r.rule.replace("<record_id>", RECORD_ID).replace("<owner>", owner) for r in rules]


def _assert_4xx_with_message(response, what):
    assert 400 <= response.status_code < 500, (what, response.status_code, response.data[:300])
    body = response.get_json()
    assert isinstance(body, dict) and body.get("message"), (what, response.data[:300])


@pytest.fixture()
def caller(chain):
    return chain.fund()


@pytest.fixture()
def token(app, caller):
    return sign_in(app.test_client(), caller)


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_hostile_body__every_post_endpoint__4xx(app, token, caller, name):
    client = app.test_client()
    for path in _post_routes(app, owner=caller.address):
        response = client.post(path, data=HOSTILE_BODIES[name], headers=bearer(token),
                               content_type="application/json")
        _assert_4xx_with_message(response, (path, name))


def test_wrong_content_type__415(app, token, caller):
    client = app.test_client()
    for path in _post_routes(app, owner=caller.address):
        response = client.post(path, data=b'{"a": 1}', headers=bearer(token),
                               content_type="text/plain")
        assert response.status_code == 415, path
        assert "Content-Type" in response.get_json()["message"]


def test_wrong_field_types__every_documented_field__4xx(app, token, caller):
    """Each field of each documented body, replaced by every wrong kind of value in turn."""
    client = app.test_client()
    for path, operations in openapi_document()["paths"].items():
        schema = operations.get("post", {}).get("requestBody", {}).get("content", {}) \
            .get("application/json", {}).get("schema")
        if schema is None:
            continue
        url = path.replace("{record_id}", RECORD_ID).replace("{owner}", caller.address)
        valid = {name: _plausible(spec) for name, spec in schema["properties"].items()}
        for field in schema["properties"]:
            for wrong in WRONG_VALUES:
                response = client.post(url, data=json.dumps({**valid, field: wrong}),
                                       headers=bearer(token), content_type="application/json")
                _assert_4xx_with_message(response, (path, field, repr(wrong)[:40]))


def test_hostile_queries__every_get_endpoint__never_5xx(app, token):
    client = app.test_client()
    values = ["-1", "1e999", "9" * 400, "0x10", "NaN", "", "%00", "\u202e", "true"]
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.rule.endswith("/live") \
                or rule.endpoint == "static":
            continue
        path = rule.rule.replace("<record_id>", RECORD_ID).replace("<owner>", OWNER)
        for value in values:
            query = {name: value for name in ("since_ms", "limit", "purchase_id", "payload",
                                              "since")}
            response = client.get(path, query_string=query, headers=bearer(token))
            assert response.status_code < 500, (path, value, response.data[:300])


def test_hostile_path_parameters__4xx(app, token):
    client = app.test_client()
    for path in (f"/patients/{OWNER}/windows/" + "x" * 2000, "/patients/" + "0x" * 500 + "/alerts",
                 "/records/" + "zz" * 32, f"/patients/{OWNER}/windows/..%2F..%2Fetc"):
        response = client.get(path, headers=bearer(token))
        _assert_4xx_with_message(response, path)


def _plausible(spec: dict):
    if spec.get("type") == "integer":
        return 1
    if spec.get("type") == "array":
        return []
    return "0x" + "11" * 20 if "0x" in spec.get("pattern", "") else "abcdefgh12345678"
