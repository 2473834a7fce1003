"""The custodian seals and registers bundles from a patient's anchored windows, on a real anvil
and a real SQLite store; refusals and waiting cost nothing on-chain."""

from __future__ import annotations

import json
from datetime import datetime

from fhir.resources.R4B.bundle import Bundle

from services.market import registration
from services.market.bundle_ids import bundle_id
from services.market.pseudonyms import UNLABELLED
from services.market.verify import verify_document


def test_priced_class__anchored_windows__bundle_registered_once(chain, store, make_patient,
                                                               custodian):
    patient = make_patient(price_classes=(0, 1))
    owner = patient.account.address.lower()
    tally = custodian.run_once()
    assert tally.errors == []
    for data_class in (0, 1):
        record_id = bundle_id(owner, data_class, patient.period_start_ms)
        on_chain = registration.registration_of(chain.contract, record_id)
        assert on_chain.status == registration.RECORD_ACTIVE
        meta = store.bundle_meta(record_id)
        assert meta.ciphertext_sha256 == on_chain.ciphertext_hash
        assert meta.owner == owner and meta.data_class == data_class
    again = custodian.run_once()
    assert (again.sealed, again.registered) == (0, 0)


def test_bundle__fhir_csv_and_proofs__valid_and_pseudonymous(chain, store, make_patient,
                                                             custodian):
    patient = make_patient(price_classes=(0, 1))
    custodian.run_once()
    owner = patient.account.address.lower()
    heart = json.loads(store.get_bundle(bundle_id(owner, 0, patient.period_start_ms)))
    screen = json.loads(store.get_bundle(bundle_id(owner, 1, patient.period_start_ms)))
    for document in (heart, screen):
        Bundle.model_validate(document["fhir"])  # FHIR R4 (R4B models), raises if invalid
        text = json.dumps(document)
        assert patient.device_id not in text and owner[2:] not in text.lower()
        assert [w["record_id"] for w in document["windows"]] == patient.record_ids
    observations = [e["resource"] for e in heart["fhir"]["entry"]]
    assert len(observations) == 3
    first = observations[0]
    assert first["code"]["coding"][0]["code"] == "8867-4"
    assert first["valueQuantity"]["code"] == "/min" and first["valueQuantity"]["value"] == 64.5
    period = {k: datetime.fromisoformat(v) for k, v in first["effectivePeriod"].items()}
    assert period["start"].timestamp() * 1000 == patient.period_start_ms
    assert (period["end"] - period["start"]).total_seconds() == 10
    assert first["subject"]["identifier"]["value"] == heart["subject"]
    assert heart["csv"]["heart_rate"].splitlines()[0].startswith("subject,window_start")
    assert len(heart["csv"]["heart_rate"].splitlines()) == 1 + 3 * 10
    result = screen["fhir"]["entry"][0]["resource"]
    assert result["device"]["identifier"]["value"] == "ab" * 32
    assert result["valueCodeableConcept"]["coding"][0]["code"] == "regular"
    # sealed bundles name no subject: each buyer's copy is labelled per purchase on delivery
    assert heart["subject"] == screen["subject"] == UNLABELLED
    assert heart["csv"]["heart_rate"].splitlines()[1].startswith(UNLABELLED + ",")

    def anchored(root: bytes) -> bool:
        return int(chain.contract.functions.batchAnchor(root).call()[0], 16) != 0

    assert verify_document(heart, anchored).ok
    tampered = json.loads(json.dumps(heart))
    tampered["windows"][0]["ciphertext_sha256"] = "0x" + "11" * 32
    verdict = verify_document(tampered, anchored)
    assert not verdict.ok and "window 0" in verdict.problems[0]


def test_unauthorised_custodian__nothing_registered(chain, store, make_patient, custodian):
    patient = make_patient(authorise=False)
    custodian.run_once()
    record_id = bundle_id(patient.account.address.lower(), 0, patient.period_start_ms)
    assert registration.registration_of(chain.contract, record_id).status == 0


def test_windows_not_anchored__period_waits(chain, store, make_patient, custodian):
    patient = make_patient(anchored=False)
    custodian.run_once()
    record_id = bundle_id(patient.account.address.lower(), 0, patient.period_start_ms)
    assert registration.registration_of(chain.contract, record_id).status == 0
    assert store.list_windows(patient.account.address.lower())  # still there, just not sold yet


def test_open_period__not_sealed(chain, store, make_patient, custodian):
    patient = make_patient(periods_ago=0)
    custodian.run_once()
    record_id = bundle_id(patient.account.address.lower(), 0, patient.period_start_ms)
    assert registration.registration_of(chain.contract, record_id).status == 0


def test_bundle_erased_before_registration__never_registered(chain, store, make_patient,
                                                             custodian):
    """A crash between sealing and registering, then the patient's erasure: nothing is offered."""
    from services.market.builder import period_windows, seal_bundle

    patient = make_patient(authorise=True)
    owner, start = patient.account.address.lower(), patient.period_start_ms
    windows = period_windows(store, owner, start, start + 60_000).anchored
    record = seal_bundle(store, owner, 0, (start, start + 60_000), windows, lambda _root: True)
    store.erase(record.bundle_id)
    custodian.run_once()
    assert registration.registration_of(chain.contract, record.bundle_id).status == 0


def test_periods_without_windows__skipped_without_chain_calls(chain, store, make_patient,
                                                             custodian, storage_anchor,
                                                             monkeypatch):
    """Windows ten periods apart: the two periods are sealed, the eight empty ones between cost
    no registry lookup (a system down for a week must not cost one call per empty period)."""
    from tests.market.conftest import store_windows

    patient = make_patient(periods_ago=12, price_classes=(0,))
    owner = patient.account.address.lower()
    later = patient.period_start_ms + 10 * 60_000
    store_windows(store, storage_anchor, owner, patient.device_id, [later])
    lookups, real = [], registration.registration_of
    monkeypatch.setattr(registration, "registration_of",  # a spy: the real lookup, counted
                        lambda ledger, bundle: lookups.append(bundle) or real(ledger, bundle))
    custodian.run_once()
    monkeypatch.undo()
    empty = {bundle_id(owner, 0, s) for s in range(patient.period_start_ms + 60_000, later, 60_000)}
    assert len(empty) == 9 and not empty & set(lookups)
    assert {bundle_id(owner, 0, patient.period_start_ms), bundle_id(owner, 0, later)} <= set(lookups)
    for start in range(patient.period_start_ms, later + 1, 60_000):
        status = registration.registration_of(chain.contract, bundle_id(owner, 0, start)).status
        assert status == (1 if start in (patient.period_start_ms, later) else 0)


def test_anchored_roots_remembered_up_to_a_bound__a_forgotten_one_read_again(
        chain, store, make_patient, custodian_account, monkeypatch):
    """The custodian remembers which batch roots are anchored (roots never un-anchor) in a
    bounded cache: it runs for months, and storage peers anchor a root every few seconds. A
    root it forgot is asked of the chain again, with the same answer."""
    from services.market import custodian as custodian_module
    from services.market.settings import MarketSettings
    from tests.market.conftest import PERIOD_S

    monkeypatch.setattr(custodian_module, "ANCHORED_ROOTS_KEPT", 1)
    keeper = custodian_module.Custodian(store, chain.contract, custodian_account,
                                        MarketSettings(period_s=PERIOD_S, max_anchor_wait_s=3600),
                                        clock=lambda: chain.now() + 0.0)
    first, second = make_patient(price_classes=(0,)), make_patient(price_classes=(0,))
    tally = keeper.run_once()
    # at least these two: the module's store also holds the open period of an earlier test,
    # which a fresh custodian registers too once a slow run has let that period close
    assert tally.errors == [] and tally.registered >= 2
    assert len(keeper._anchored) == 1
    for patient in (first, second):
        record_id = bundle_id(patient.account.address.lower(), 0, patient.period_start_ms)
        assert registration.registration_of(chain.contract, record_id).status == \
            registration.RECORD_ACTIVE
