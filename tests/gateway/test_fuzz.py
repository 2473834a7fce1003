"""Fuzz the HTTP API against its own OpenAPI document (schemathesis, positive and negative
examples): whatever arrives, the gateway answers with a declared status, never a 5xx. The app runs
on the real anvil and SQLite store of the other tests."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.gateway.conftest import bearer, sign_in


@pytest.fixture()
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def fuzz_session(app, chain):
    """A signed-in account, so the fuzz also reaches past authentication."""
    return sign_in(app.test_client(), chain.fund())


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api__fuzzed_requests__never_a_server_error(case, fuzz_session):
    if case.path == "/patients/{owner}/live":
        case.headers = {**(case.headers or {}), "Authorization": "Bearer x"}  # never open a stream
    elif case.headers is None or "Authorization" not in case.headers:
        case.headers = {**(case.headers or {}), **bearer(fuzz_session)}
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance])
