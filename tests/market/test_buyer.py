"""A buyer's whole path on real parts: the custodian's bundle, consent, purchase, logAccess, the
real gateway over HTTP (threaded werkzeug on 127.0.0.1), `buyer fetch` decrypting locally and
checking hash and proofs, `pulseledger verify` on what it saved, and the patient credited."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from services.gateway.ledger import PURCHASE_DELIVERED
from services.market import buyer as buying
from services.market import registration
from services.market.bundle_ids import bundle_id
from services.market.cli import verify
from services.market.exports import make_export
from services.market.pseudonyms import UNLABELLED
from services.stack.gateway_client import GatewayClient
from tests.market.conftest import EXPORTS_PER_HOUR, PRICE, bought


def test_buyer_fetch__decrypts_checks_and_pays_the_patient(chain, store, make_patient, custodian,
                                                           gateway_url, tmp_path, monkeypatch):
    patient = make_patient()
    custodian.run_once()
    record_id = bundle_id(patient.account.address.lower(), 0, patient.period_start_ms)
    buyer, purchase_id = bought(chain, patient.account)
    client = GatewayClient(gateway_url)

    with pytest.raises(buying.FetchFailed, match="403"):  # paid, but access not logged yet
        buying.fetch(client, chain.contract, buyer, record_id, purchase_id)
    buying.log_access(chain.contract, buyer, record_id, purchase_id, confirmations=1)
    fetched = buying.fetch(client, chain.contract, buyer, record_id, purchase_id)

    assert fetched.verdict.ok and fetched.verdict.windows == len(patient.record_ids)
    assert fetched.delivery_tx is not None
    _, amount_gwei, _, status = chain.contract.functions.getPurchase(purchase_id).call()
    assert (amount_gwei * 10**9, status) == (PRICE, PURCHASE_DELIVERED)
    assert chain.contract.functions.creditOf(patient.account.address).call() == PRICE

    saved = buying.save(fetched, tmp_path)
    names = sorted(p.name.split(".", 1)[1] for p in saved)
    assert names == ["bundle.json", "fhir.json", "heart_rate.csv", "sealed"]
    monkeypatch.setenv("PULSELEDGER_CHAIN_RPC_URL", chain.url)
    monkeypatch.setenv("PULSELEDGER_CHAIN_DEPLOYMENTS", str(chain.deployments))
    bundle_file = next(p for p in saved if p.name.endswith(".bundle.json"))
    sealed_file = next(p for p in saved if p.name.endswith(".sealed"))
    result = CliRunner().invoke(verify, [str(bundle_file), "--sealed", str(sealed_file)])
    assert result.exit_code == 0, result.output
    assert "OK 3 windows" in result.output

    document = json.loads(bundle_file.read_text())
    document["windows"][1]["batch_root"] = "0x" + "22" * 32
    bundle_file.write_text(json.dumps(document))
    sealed = sealed_file.read_bytes()
    sealed_file.write_bytes(sealed[:-1] + bytes([sealed[-1] ^ 1]))  # b"\0" left a 0x00 byte as it was
    result = CliRunner().invoke(verify, [str(bundle_file), "--sealed", str(sealed_file)])
    assert result.exit_code == 1
    assert "window 1" in result.output and "ciphertextHash" in result.output


def test_buyer_fetch__someone_elses_purchase__refused(chain, store, make_patient, custodian,
                                                      gateway_url):
    patient = make_patient()
    custodian.run_once()
    record_id = bundle_id(patient.account.address.lower(), 0, patient.period_start_ms)
    _, purchase_id = bought(chain, patient.account)
    stranger = chain.fund()
    with pytest.raises(buying.FetchFailed, match="not_your_purchase|another buyer"):
        buying.fetch(GatewayClient(gateway_url), chain.contract, stranger, record_id, purchase_id)


def test_export__patient_seals_and_registers_their_own(chain, store, make_patient, gateway_url):
    patient = make_patient(authorise=False, price_classes=(2,))
    client = GatewayClient(gateway_url)
    start = patient.period_start_ms
    made = make_export(client, chain.contract, patient.account, start, start + 60_000)
    assert made.windows == len(patient.record_ids) and made.tx is not None
    on_chain = registration.registration_of(chain.contract, made.record_id)
    assert on_chain.status == registration.RECORD_ACTIVE
    assert on_chain.ciphertext_hash == store.bundle_meta(made.record_id).ciphertext_sha256
    document = json.loads(store.get_bundle(made.record_id))
    assert document["data_class"] == "EXPORTS" and set(document["csv"]) == {"heart_rate",
                                                                            "screen"}
    again = make_export(client, chain.contract, patient.account, start, start + 60_000)
    assert (again.record_id, again.windows, again.tx) == (made.record_id, None, None)


def test_export__refusals(chain, make_patient, gateway_url):
    patient, stranger = make_patient(authorise=False), chain.fund()
    client = GatewayClient(gateway_url)
    start = patient.period_start_ms
    token = client.sign_in(stranger)
    someone_elses = client.post(f"/patients/{patient.account.address}/exports",
                                {"from_ms": start, "to_ms": start + 60_000}, token)
    assert someone_elses.status_code == 403
    empty = client.post(f"/patients/{stranger.address}/exports",
                        {"from_ms": start, "to_ms": start + 60_000}, token)
    assert empty.status_code == 404 and empty.json()["error"] == "nothing_to_export"
    too_long = client.post(f"/patients/{stranger.address}/exports",
                           {"from_ms": 0, "to_ms": 40 * 24 * 3600 * 1000}, token)
    assert too_long.status_code == 400 and "31 days" in too_long.json()["message"]


def test_export__new_exports_bounded_per_patient(make_patient, gateway_url):
    patient = make_patient(authorise=False)
    client, start = GatewayClient(gateway_url), patient.period_start_ms
    token = client.sign_in(patient.account)
    answers = [client.post(f"/patients/{patient.account.address}/exports",
                           {"from_ms": start, "to_ms": start + 10_000 * (n + 1)}, token)
               for n in range(EXPORTS_PER_HOUR + 1)]
    assert [a.status_code for a in answers] == [201] * EXPORTS_PER_HOUR + [429]
    assert answers[-1].headers.get("Retry-After")


def test_two_purchases_of_one_bundle__each_copy_has_its_own_subject(
        chain, store, make_patient, custodian, gateway_url):
    """Two buyers of the same sealed bundle get the same verified bytes but different subject
    pseudonyms (in the document, every Observation and every CSV row), on the plaintext read and
    on the wrapped-key fetch alike; one purchase keeps its pseudonym across reads."""
    patient = make_patient(price_classes=(0,))
    custodian.run_once()
    record_id = bundle_id(patient.account.address.lower(), 0, patient.period_start_ms)
    client, subjects = GatewayClient(gateway_url), []
    for _ in range(2):
        buyer, purchase_id = bought(chain, patient.account)
        buying.log_access(chain.contract, buyer, record_id, purchase_id, confirmations=1)
        fetched = buying.fetch(client, chain.contract, buyer, record_id, purchase_id)
        assert fetched.verdict.ok  # the sealed bytes still match the registry's hash
        token = client.sign_in(buyer)
        plain = client.get(f"/records/{record_id}", token, params={"purchase_id": purchase_id})
        assert plain.status_code == 200
        for document in (fetched.document, json.loads(plain.content)):
            subject = document["subject"]
            assert subject.startswith("pl-") and subject != UNLABELLED
            assert {e["resource"]["subject"]["identifier"]["value"]
                    for e in document["fhir"]["entry"]} == {subject}
            assert {row.split(",")[0] for row in document["csv"]["heart_rate"].splitlines()[1:]} \
                == {subject}
            assert UNLABELLED not in json.dumps(document)
        assert json.loads(plain.content)["subject"] == fetched.document["subject"]
        subjects.append(fetched.document["subject"])
    assert subjects[0] != subjects[1]
