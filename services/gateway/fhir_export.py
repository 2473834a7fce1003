"""A patient's consents as FHIR Consent resources and their access log as AuditEvent resources.

FHIR release: R4 (4.0.1) is what the issue asks for. The pinned fhir.resources 8.0.0 ships R5
(5.0.0) as its default models, plus `R4B` (4.3.0) and `STU3`; it has no 4.0.1 package. R4B changed
only the medication-definition and evidence resources: Consent and AuditEvent are the R4 4.0.1
structures unchanged, so the R4B models validate exactly the R4 shapes exported here.

Participants are identified by CAIP-10 account ids (`eip155:<chain>:<address>`); nothing here is
health data: consents and accesses are already public on-chain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent

from services.chain.enums import DataClass

FHIR_RELEASE = "4.0.1 (validated with fhir.resources 8.0.0 R4B models)"
CAIP10 = "https://chainagnostic.org/CAIPs/caip-10"
PL = "urn:pulseledger"
DATA_CLASSES = {data_class.value: data_class.name for data_class in DataClass}
CONSENT_STATUS = {1: "proposed", 2: "active", 3: "rejected", 4: "inactive"}


def account(chain_id: int, address: str) -> dict[str, Any]:
    return {"identifier": {"system": CAIP10, "value": f"eip155:{chain_id}:{address}"}}


def consent_resource(request: dict[str, Any], *, chain_id: int, contract: str) -> Consent:
    """`request`: requestId, patient, requester, status, dataClasses, validFrom, validUntil,
    purposeOfUse (bytes32 hex), consentDocHash (hex), decidedAt (unix seconds or None)."""
    classes = [{"system": f"{PL}:data-class", "code": name}
               for bit, name in DATA_CLASSES.items() if request["dataClasses"] >> bit & 1]
    resource = {
        "resourceType": "Consent",
        "id": f"consent-{chain_id}-{request['requestId']}",
        "identifier": [
            {"system": f"{PL}:consent-request:eip155:{chain_id}:{contract}",
             "value": str(request["requestId"])},
            {"system": f"{PL}:consent-document-hash", "value": request["consentDocHash"]},
        ],
        "status": CONSENT_STATUS.get(request["status"], "entered-in-error"),
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "research", "display": "Research"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0",
                                  "display": "Patient Consent"}]}],
        "patient": account(chain_id, request["patient"]),
        "performer": [account(chain_id, request["patient"])],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "OPTIN"}]},
        "provision": {
            "type": "permit",
            "period": {"start": _instant(request["validFrom"]),
                       "end": _instant(request["validUntil"])},
            "actor": [{
                "role": {"coding": [{"system":
                                     "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                     "code": "IRCP", "display": "information recipient"}]},
                "reference": account(chain_id, request["requester"]),
            }],
            "action": [{"coding": [{"system":
                                    "http://terminology.hl7.org/CodeSystem/consentaction",
                                    "code": "access"}]}],
            "purpose": [_purpose(request["purposeOfUse"])],
            "class": classes,
        },
    }
    if request.get("decidedAt"):
        resource["dateTime"] = _instant(request["decidedAt"])
    return Consent.model_validate(resource)


def _purpose(word: str) -> dict:
    """The request's HL7 v3 PurposeOfUse code (the contract takes only those, left-aligned ASCII
    in a bytes32); a request from before it checked may hold anything: kept as its hex."""
    raw = bytes.fromhex(word.removeprefix("0x")).rstrip(b"\0")
    if raw and raw.isascii() and raw.isalpha() and raw.isupper():
        return {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": raw.decode()}
    return {"system": f"{PL}:purpose-of-use", "code": word}


def audit_event_resource(access: dict[str, Any], *, chain_id: int, contract: str) -> AuditEvent:
    """`access`: accessor, patient, recordId (hex), purchaseId, txHash, logIndex, timestamp."""
    return AuditEvent.model_validate({
        "resourceType": "AuditEvent",
        "id": f"access-{chain_id}-{access['txHash'][2:18]}-{access['logIndex']}",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                 "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read"}],
        "action": "R",
        "recorded": _instant(access["timestamp"]),
        "outcome": "0",
        "agent": [{"who": account(chain_id, access["accessor"]), "requestor": True}],
        "source": {"observer": {"display": f"PulseLedger eip155:{chain_id}:{contract}"},
                   "type": [{"system":
                             "http://terminology.hl7.org/CodeSystem/security-source-type",
                             "code": "4", "display": "Application Server"}]},
        "entity": [
            {"what": {"identifier": {"system": f"{PL}:record", "value": access["recordId"]}},
             "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                      "code": "2", "display": "System Object"}},
            {"what": account(chain_id, access["patient"]),
             "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                      "code": "1", "display": "Person"}},
            {"what": {"identifier": {"system": f"{PL}:purchase", "value":
                                     str(access["purchaseId"])}},
             "detail": [{"type": "transaction", "valueString": access["txHash"]}]},
        ],
    })


def bundle(resources: list[Any]) -> dict[str, Any]:
    """A FHIR collection Bundle as plain JSON, validated as a whole."""
    body = {"resourceType": "Bundle", "type": "collection",
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "entry": [{"resource": r.model_dump(mode="json", exclude_none=True)} for r in resources]}
    return Bundle.model_validate(body).model_dump(mode="json", exclude_none=True)


def _instant(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), tz=UTC).isoformat(timespec="seconds")
