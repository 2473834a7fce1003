"""HTTP hygiene: JSON errors for bad input (never 500), health, metrics, logs without secrets."""

import io
import logging

from services.gateway.observability import LOGGER_NAME
from tests.gateway.conftest import bearer, sign_in


def test_healthz_and_metrics(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    client.get("/auth/nonce")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_requests_total{method="GET",route="/auth/nonce",status="200"}' in metrics


def test_bad_input__clear_4xx(client):
    assert client.post("/auth/sign-in", data="x" * 20_000,
                       content_type="application/json").status_code == 413
    not_json = client.post("/auth/sign-in", data="{", content_type="application/json")
    assert not_json.status_code == 400 and "JSON" in not_json.get_json()["message"]
    bad_sig = client.post("/auth/sign-in", json={"message": "hi", "signature": "0x00"})
    assert bad_sig.status_code == 400
    assert client.get("/patients/0xnothex/windows").status_code == 400
    unknown = client.get("/no/such/route")
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"
    assert client.get("/auth/session", headers=bearer("junk.token")).status_code == 401


def test_logs__carry_no_emails_keys_or_signatures(client, chain):
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    logging.getLogger(LOGGER_NAME).addHandler(handler)
    try:
        patient = chain.fund()
        token = sign_in(client, patient)
        nonce = client.get("/auth/nonce").get_json()["nonce"]
        client.post("/onboarding/contacts", json={"owner": patient.address,
                                                  "emails": ["secret@home.example"],
                                                  "nonce": nonce, "signature": "0x" + "22" * 65})
        client.get(f"/patients/{patient.address}/windows", headers=bearer(token))
    finally:
        logging.getLogger(LOGGER_NAME).removeHandler(handler)
    text = captured.getvalue()
    assert "request" in text
    assert "secret@home.example" not in text and token not in text and "2222" not in text
    assert patient.key.hex() not in text


def test_cors__only_configured_origins(settings, ledger, store):
    from services.gateway.app import create_app

    app = create_app(settings.model_copy(update={"cors_origins": ["http://127.0.0.1:5173"]}),
                     ledger=ledger, store=store)
    client = app.test_client()
    allowed = client.options("/auth/nonce", headers={"Origin": "http://127.0.0.1:5173"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    other = client.get("/auth/nonce", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
