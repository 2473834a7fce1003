"""OpenAPI paths of the doctor list, the patient's profile and erasure (merged into
/openapi.json by services/gateway/openapi.py, so the fuzz test covers them too)."""

from __future__ import annotations

from typing import Any

from services.gateway.openapi import (
    NONCE,
    SECURED,
    SIGNATURE,
    UINT,
    _error_responses,
    _json,
    _obj,
    _ok,
    _owner_param,
)


def patient_paths() -> dict[str, Any]:
    return {
        "/doctor/patients": {"get": {
            "operationId": "doctorPatients", "security": SECURED,
            "responses": {"200": _ok("the patients who linked the signed-in doctor",
                                     {"type": "object"}),
                          **_error_responses("401", "503")}}},
        "/patients/{owner}/profile": {"get": {
            "operationId": "patientProfile", "security": SECURED,
            "parameters": [_owner_param()],
            "responses": {"200": _ok("devices, contact emails and linked doctor",
                                     {"type": "object"}),
                          **_error_responses("400", "401", "403", "503")}}},
        "/patients/{owner}/erasure": {"post": {
            "operationId": "eraseRecords", "security": SECURED,
            "parameters": [_owner_param()],
            "requestBody": {"required": True, **_json(_obj(
                ["nonce", "signature"], nonce=NONCE, signature=SIGNATURE))},
            "responses": {"200": _ok("keys destroyed; the on-chain records to retire",
                                     {"type": "object"}),
                          **_error_responses("400", "401", "403", "413", "429", "503")}}},
        "/patients/{owner}/exports": {"post": {
            "operationId": "makeExport", "security": SECURED,
            "description": "Seal the patient's anchored windows of [from_ms, to_ms) as an "
                           "export (FHIR R4 + CSV + inclusion proofs); register the answer with "
                           "addRecord from the patient's wallet (docs/market.md).",
            "parameters": [_owner_param()],
            "requestBody": {"required": True, **_json(_obj(
                ["from_ms", "to_ms"], from_ms=UINT, to_ms=UINT))},
            "responses": {"201": _ok("sealed: record_id, ciphertext_sha256, pointer to register",
                                     {"type": "object"}),
                          "200": _ok("made before: the same export", {"type": "object"}),
                          **_error_responses("400", "401", "403", "404", "413", "503")}}},
    }
