"""Issue 14 finding 1: a copied pending `addRecord` must gain the copier nothing and block no one.

The custodian's registration waits in the pool (automine off); the attacker copies it, pays a higher tip so
the copies are mined first, and sends both variants a copier has: the same call (naming the victim) and
the call re-pointed at themself. The victim's record still registers under its id, naming the victim."""

import secrets

from conftest import EXPORTS, manual_mining
from eth_abi import encode
from eth_utils import keccak

from services.chain.record_registry import RecordRegistration, add_record_call, location_digest


def send(web3, sender, ledger, data, tip):
    return web3.eth.send_transaction({
        "from": sender, "to": ledger.address, "data": data, "gas": 200_000,
        "maxFeePerGas": web3.eth.get_block("latest").baseFeePerGas * 2 + tip, "maxPriorityFeePerGas": tip,
    })


def test_add_record__copied_pending_tx_mined_first__registers_nothing_for_the_copier(ledger, patient, custodian, stranger, chain):
    ledger.authorizeCustodian(custodian, True, sender=patient)
    victims = RecordRegistration(patient.address, secrets.token_bytes(32), secrets.token_bytes(32),
                                 location_digest("ipfs://bafkreivictim"), secrets.token_bytes(32), EXPORTS)
    honest_data = add_record_call(_web3_contract(chain, ledger), victims)._encode_transaction_data()
    copied_data = add_record_call(_web3_contract(chain, ledger), RecordRegistration(
        stranger.address, victims.salt, victims.ciphertext_hash, victims.location_digest, victims.dag_root, EXPORTS,
    ))._encode_transaction_data()

    with manual_mining(chain) as web3:
        honest = send(web3, custodian.address, ledger, honest_data, tip=1)
        verbatim = send(web3, stranger.address, ledger, honest_data, tip=10**9)
        repointed = send(web3, stranger.address, ledger, copied_data, tip=10**9)
        chain.mine()

    receipts = [web3.eth.get_transaction_receipt(h) for h in (verbatim, repointed, honest)]
    assert len({r.blockNumber for r in receipts}) == 1
    assert [r.transactionIndex for r in receipts] == sorted(r.transactionIndex for r in receipts)  # copier first
    assert [r.status for r in receipts] == [0, 1, 1]  # the verbatim copy reverts: the copier writes no record of the patient
    trace = chain.provider.make_request("debug_traceTransaction", [verbatim.to_0x_hex(), {"tracer": "callTracer"}])
    assert trace["output"] == "0x" + (keccak(text="RecordRegistryUnauthorized(address,address)")[:4] + encode(
        ["address", "address"], [patient.address, stranger.address])).hex()
    victim_record = ledger.getRecord(victims.record_id)
    assert (victim_record.patient, victim_record.ciphertextHash) == (patient.address, victims.ciphertext_hash)
    copier_id = ledger.recordIdOf(stranger, victims.salt)
    assert copier_id != victims.record_id
    assert ledger.getRecord(copier_id).patient == stranger.address  # their own id, naming themself only


def _web3_contract(chain, ledger):
    return chain.provider.web3.eth.contract(address=ledger.address, abi=[a.model_dump(by_alias=True) for a in ledger.contract_type.abi])
