"""The gateway's OpenAPI 3.0 document (served at /openapi.json; the fuzz test runs against it)."""

from __future__ import annotations

from typing import Any

from services.ingest.pairing import CODE_PATTERN as PAIRING_CODE_PATTERN

ADDRESS = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}
BYTES32 = {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}
SIGNATURE = {"type": "string", "pattern": "^0x[0-9a-fA-F]{130}$"}
NONCE = {"type": "string", "pattern": "^[0-9a-zA-Z]{8,64}$"}
UINT = {"type": "integer", "minimum": 0}
ERC1271_SIGNATURE = {"type": "string", "pattern": "^0x([0-9a-fA-F]{2})*$", "maxLength": 4098}
# Any request may meet a spent budget or a full pool (429, 503 Busy); any body a bad body.
EVERY_OPERATION = ("429", "503")
EVERY_BODY = ("400", "408", "413", "415")


def _error_responses(*codes: str) -> dict[str, Any]:
    return {code: {"description": "error with a reason",
                   "content": {"application/json": {"schema": {"$ref":
                                                               "#/components/schemas/Error"}}}}
            for code in codes}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any] | None = None,
        media: str = "application/json") -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {media: {"schema": schema}}
    return body


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _owner_param() -> dict[str, Any]:
    return {"name": "owner", "in": "path", "required": True, "schema": ADDRESS}


def _page_params() -> list[dict[str, Any]]:
    """since_ms and limit: how every time-ordered list of a patient pages."""
    return [{"name": "since_ms", "in": "query", "schema": UINT},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}]


SECURED = [{"session": []}]


def openapi_document() -> dict[str, Any]:
    document = _document()
    for operations in document["paths"].values():
        for operation in operations.values():
            common = EVERY_OPERATION + (EVERY_BODY if "requestBody" in operation else ())
            operation["responses"] = {**_error_responses(*common), **operation["responses"]}
    return document


def _document() -> dict[str, Any]:
    from services.gateway.openapi_patients import patient_paths  # it imports this module's parts

    auth_errors = _error_responses("400", "401", "403", "404", "413", "503")
    return {
        "openapi": "3.0.3",
        "info": {"title": "PulseLedger data gateway", "version": "1.0.0",
                 "description": "Wallet sign-in (EIP-4361), onboarding, owner/doctor reads, "
                                "paid buyer delivery, gasless consent relay, FHIR exports. "
                                "See docs/gateway.md."},
        "components": {
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _obj(["error", "message"], error={"type": "string"},
                                      message={"type": "string"})},
        },
        "paths": {
            "/healthz": {"get": {"operationId": "healthz", "responses": {
                "200": _ok("chain reachable", {"type": "object"}),
                **_error_responses("503")}}},
            "/metrics": {"get": {"operationId": "metrics", "responses": {
                "200": _ok("Prometheus text format", {"type": "string"}, "text/plain")}}},
            "/auth/nonce": {"get": {"operationId": "nonce", "responses": {"200": _ok(
                "a single-use nonce and the values the EIP-4361 message must carry",
                _obj(["nonce"], nonce=NONCE, expires_in_s=UINT, domain={"type": "string"},
                     uri={"type": "string"}, chain_id=UINT, statement={"type": "string"}))}}},
            "/auth/sign-in": {"post": {
                "operationId": "signIn",
                "requestBody": {"required": True, **_json(_obj(
                    ["message", "signature"], message={"type": "string", "maxLength": 4096},
                    signature=ERC1271_SIGNATURE))},
                "responses": {"200": _ok("session token", _obj(
                    ["token", "address"], token={"type": "string"}, address=ADDRESS,
                    expires_at=UINT)), **_error_responses("400", "401", "413")}}},
            "/auth/session": {"get": {"operationId": "session", "security": SECURED,
                                      "responses": {"200": _ok("who is signed in", _obj(
                                          ["address"], address=ADDRESS, expires_at=UINT)),
                                          **_error_responses("401")}}},
            "/auth/sign-out": {"post": {"operationId": "signOut", "security": SECURED,
                                        "responses": {"200": _ok("this session is revoked on "
                                                                 "every replica",
                                                                 {"type": "object"}),
                                                      **_error_responses("401")}}},
            "/onboarding/device": {"post": {
                "operationId": "registerDevice",
                "requestBody": {"required": True, **_json(_obj(
                    ["owner", "device_id", "public_key", "pairing_code", "nonce", "signature"],
                    owner=ADDRESS, device_id={"type": "string", "maxLength": 128},
                    public_key=BYTES32, pairing_code={
                        "type": "string", "pattern": f"^{PAIRING_CODE_PATTERN}$",
                        "description": "the device's consent, signed by its key "
                                       "(docs/devices.md, Pairing)"},
                    nonce=NONCE, signature=SIGNATURE))},
                "responses": {"201": _ok("registered", {"type": "object"}),
                              **_error_responses("400", "401", "403", "409", "413")}}},
            "/onboarding/device/unpair": {"post": {
                "operationId": "unpairDevice",
                "requestBody": {"required": True, **_json(_obj(
                    ["owner", "device_id", "nonce", "signature"], owner=ADDRESS,
                    device_id={"type": "string", "maxLength": 128},
                    nonce=NONCE, signature=SIGNATURE))},
                "responses": {"200": _ok("unpaired", {"type": "object"}),
                              **_error_responses("400", "401", "404", "413")}}},
            "/onboarding/contacts": {"post": {
                "operationId": "setContacts",
                "requestBody": {"required": True, **_json(_obj(
                    ["owner", "emails", "nonce", "signature"], owner=ADDRESS,
                    emails={"type": "array", "maxItems": 10,
                            "items": {"type": "string", "format": "email"}},
                    nonce=NONCE, signature=SIGNATURE))},
                "responses": {"200": _ok(
                    "a listed address already confirmed keeps getting alerts, one no longer "
                    "listed stops at once, a new one is mailed a confirmation link and gets "
                    "alerts once it comes back (counts: contacts, waiting, confirmations_sent)",
                    {"type": "object"}),
                              **_error_responses("400", "401", "413", "429", "503")}}},
            "/onboarding/emails/confirm": {"post": {
                "operationId": "confirmEmail",
                "description": "The secret a named address was mailed (its link's `token`): "
                               "the address joins the patient's contacts, or becomes their "
                               "linked doctor's email. No signature; each link works once.",
                "requestBody": {"required": True, **_json(_obj(
                    ["token"], token={"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"}))},
                "responses": {"200": _ok("confirmed: owner, purpose (contact or doctor), email",
                                         {"type": "object"}),
                              **_error_responses("400", "404", "413", "429")}}},
            "/onboarding/emails/stop": {"post": {
                "operationId": "stopEmails",
                "description": "The link at the end of every alert email: its recipient gets no "
                               "more of this patient's alerts (leaves the contacts, or the "
                               "linked doctor keeps access with no email). No signature; the "
                               "token is a keyed digest of (owner, email).",
                "requestBody": {"required": True, **_json(_obj(
                    ["owner", "email", "token"], owner=ADDRESS,
                    email={"type": "string", "format": "email"},
                    token={"type": "string", "pattern": "^[0-9a-f]{32}$"}))},
                "responses": {"200": _ok("owner, email, stopped (false: it got nothing anyway)",
                                         {"type": "object"}),
                              **_error_responses("400", "403", "413", "429")}}},
            "/onboarding/emails/unsubscribe": {"post": {
                "operationId": "oneClickStopEmails",
                "description": "RFC 8058 one-click unsubscribe, for mail clients: the "
                               "List-Unsubscribe URL of an alert or relay email (sent when "
                               "PULSELEDGER_NOTIFY_GATEWAY_URL is set). Does what "
                               "/onboarding/emails/stop does; budgeted per (owner, email).",
                "parameters": [
                    {"name": "owner", "in": "query", "required": True, "schema": ADDRESS},
                    {"name": "email", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "email"}},
                    {"name": "token", "in": "query", "required": True,
                     "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}],
                "requestBody": {"required": True, "content": {
                    "application/x-www-form-urlencoded": {"schema": _obj(
                        ["List-Unsubscribe"],
                        **{"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}})}}},
                "responses": {"200": _ok("owner, email, stopped (false: it got nothing anyway)",
                                         {"type": "object"}),
                              **_error_responses("400", "403", "413", "429")}}},
            "/onboarding/profile": {"post": {
                "operationId": "setProfile",
                "requestBody": {"required": True, **_json(_obj(
                    ["owner", "name", "time_zone", "nonce", "signature"], owner=ADDRESS,
                    name={"type": "string", "maxLength": 80},
                    time_zone={"type": "string", "maxLength": 64,
                               "description": "IANA time zone, e.g. Europe/Berlin"},
                    nonce=NONCE, signature=SIGNATURE))},
                "responses": {"200": _ok("stored", {"type": "object"}),
                              **_error_responses("400", "401", "413")}}},
            "/onboarding/doctor": {"post": {
                "operationId": "linkDoctor",
                "requestBody": {"required": True, **_json(_obj(
                    ["owner", "doctor", "doctor_email", "nonce", "signature"], owner=ADDRESS,
                    doctor=ADDRESS, doctor_email={"type": "string", "format": "email"},
                    nonce=NONCE, signature=SIGNATURE))},
                "responses": {"200": _ok(
                    "linked (the doctor reads at once); `email_confirmed` false: the address "
                    "was mailed a confirmation link and gets alerts once it comes back",
                    {"type": "object"}),
                              **_error_responses("400", "401", "413", "429", "503")}}},
            "/patients/{owner}/windows": {"get": {
                "operationId": "listWindows", "security": SECURED,
                "parameters": [_owner_param(), *_page_params(),
                               {"name": "payload", "in": "query",
                                "schema": {"type": "string", "enum": ["true", "false"]}}],
                "responses": {"200": _ok("window metadata (and payloads); a window that fails its "
                                         "integrity checks carries `flag` (tampered, key_missing) "
                                         "and no payload: one bad window never fails the list; "
                                         "a window's later part carries `part_of`, the record "
                                         "id of the window it belongs to",
                                         {"type": "object"}),
                              **auth_errors}}},
            "/patients/{owner}/alerts": {"get": {
                "operationId": "listAlerts", "security": SECURED,
                "parameters": [_owner_param(), *_page_params()],
                "responses": {"200": _ok("notices (episode started, reminder, all-clear, "
                                         "lapsed) and episodes by the alert rule "
                                         "(PULSELEDGER_ALERTS_*); windows that fail their "
                                         "integrity checks are listed under `flagged`",
                                         {"type": "object"}),
                              **auth_errors}}},
            "/patients/{owner}/burden": {"get": {
                "operationId": "afBurden", "security": SECURED,
                "parameters": [_owner_param(), *_page_params(),
                               {"name": "tz", "in": "query",
                                "schema": {"type": "string", "maxLength": 64}}],
                "responses": {"200": _ok("AF burden per day (share of monitored time screened "
                                         "irregular) in the patient's time zone",
                                         {"type": "object"}),
                              **auth_errors}}},
            "/patients/{owner}/windows/{record_id}": {"get": {
                "operationId": "getWindow", "security": SECURED,
                "parameters": [_owner_param(),
                               {"name": "record_id", "in": "path", "required": True,
                                "schema": {"type": "string", "maxLength": 128}}],
                "responses": {"200": _ok("one window: readings and prediction",
                                         {"type": "object"}),
                              **auth_errors, **_error_responses("410", "502")}}},
            "/patients/{owner}/live": {"get": {
                "operationId": "live", "security": SECURED, "parameters": [_owner_param()],
                "responses": {"200": _ok("Server-Sent Events: one event per change",
                                         {"type": "string"}, "text/event-stream"),
                              **auth_errors}}},
            "/patients/{owner}/fhir/consents": {"get": {
                "operationId": "fhirConsents", "security": SECURED,
                "parameters": [_owner_param()],
                "responses": {"200": _ok("FHIR R4 Bundle of Consent", {"type": "object"}),
                              **auth_errors}}},
            "/patients/{owner}/fhir/audit-events": {"get": {
                "operationId": "fhirAuditEvents", "security": SECURED,
                "parameters": [_owner_param()],
                "responses": {"200": _ok("FHIR R4 Bundle of AuditEvent", {"type": "object"}),
                              **auth_errors}}},
            "/records/{record_id}": {"get": {
                "operationId": "readRecord", "security": SECURED,
                "parameters": [{"name": "record_id", "in": "path", "required": True,
                                "schema": BYTES32},
                               {"name": "purchase_id", "in": "query", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": _ok("the record's plaintext", {"type": "string",
                                                                    "format": "binary"},
                                         "application/octet-stream"),
                              **auth_errors, **_error_responses("410", "502")}}},
            "/records/{record_id}/key": {"post": {
                "operationId": "wrappedKey", "security": SECURED,
                "parameters": [{"name": "record_id", "in": "path", "required": True,
                                "schema": BYTES32}],
                "requestBody": {"required": True, **_json(_obj(
                    ["purchase_id", "public_key"], purchase_id={"type": "integer", "minimum": 1},
                    public_key={"type": "string", "pattern": "^0x([0-9a-fA-F]{2})+$"}))},
                "responses": {"200": _ok("the record key wrapped with ECIES", {"type": "object"}),
                              **auth_errors, **_error_responses("410", "502")}}},
            "/records/{record_id}/ciphertext": {"get": {
                "operationId": "readCiphertext", "security": SECURED,
                "parameters": [{"name": "record_id", "in": "path", "required": True,
                                "schema": BYTES32},
                               {"name": "purchase_id", "in": "query", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": _ok("nonce || ciphertext || tag (AES-256-GCM)",
                                         {"type": "string", "format": "binary"},
                                         "application/octet-stream"),
                              **auth_errors, **_error_responses("410", "502")}}},
            "/relay/consent-decision": {"post": {
                "operationId": "relayConsentDecision",
                "requestBody": {"required": True, **_json(_obj(
                    ["request_id", "decision", "deadline", "signature"],
                    request_id={"type": "integer", "minimum": 1},
                    decision={"type": "string", "enum": ["approve", "deny", "revoke"]},
                    deadline=UINT, signature=SIGNATURE))},
                "responses": {"200": _ok("submitted and mined", {"type": "object"}),
                              **_error_responses("400", "401", "404", "413", "429", "503")}}},
            **patient_paths(),
        },
    }
