"""Record registry: records written by the patient or an authorised custodian under ids bound to the
patient (`keccak256(abi.encode(patient, salt))`); batch roots anchored by registered custodians."""

import secrets

import ape
import pytest
from conftest import ACTIVE, EXPORTS, HEART_RATE_WINDOWS, NONE, RETIRED

from services.chain.record_registry import location_digest
from services.chain.record_registry import record_id as derived_record_id

ZERO32 = b"\0" * 32
ZERO_ADDRESS = "0x" + "00" * 20
LOCATION = location_digest("ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
DAG_ROOT = bytes.fromhex("d0" * 32)


def add(ledger, patient, sender, *, salt=None, data_class=EXPORTS, ciphertext_hash=ZERO32):
    """addRecord with fixed digests; returns (record id from the event, salt)."""
    salt = secrets.token_bytes(32) if salt is None else salt
    tx = ledger.addRecord(patient, salt, data_class, ciphertext_hash, LOCATION, DAG_ROOT, sender=sender)
    return tx.decode_logs(ledger.RecordAdded)[0].recordId, salt


def test_add_record__by_patient__stores_version_1_under_the_derived_id_and_emits(ledger, patient):
    salt, ciphertext_hash = secrets.token_bytes(32), secrets.token_bytes(32)

    tx = ledger.addRecord(patient, salt, EXPORTS, ciphertext_hash, LOCATION, DAG_ROOT, sender=patient)

    record_id = derived_record_id(patient.address, salt)
    assert ledger.recordIdOf(patient, salt) == record_id
    assert tx.return_value == record_id
    assert tx.decode_logs(ledger.RecordAdded) == [
        ledger.RecordAdded(
            recordId=record_id, patient=patient.address, dataClass=EXPORTS, version=1,
            ciphertextHash=ciphertext_hash, locationDigest=LOCATION, dagRoot=DAG_ROOT,
        )
    ]
    assert ledger.getRecord(record_id) == (patient.address, EXPORTS, 1, ACTIVE, ciphertext_hash, LOCATION, DAG_ROOT)


def test_add_record__by_authorised_custodian__works(ledger, patient, custodian):
    ledger.authorizeCustodian(custodian, True, sender=patient)

    record_id, _ = add(ledger, patient, custodian, data_class=HEART_RATE_WINDOWS)

    assert ledger.getRecord(record_id).patient == patient.address


def test_add_record__same_salt_other_patient__is_another_record(ledger, patient, other_patient):
    mine, salt = add(ledger, patient, patient)
    theirs, _ = add(ledger, other_patient, other_patient, salt=salt)

    assert mine != theirs
    assert (ledger.getRecord(mine).patient, ledger.getRecord(theirs).patient) == (patient.address, other_patient.address)


def test_add_record__unauthorised__reverts(ledger, patient, custodian, stranger):
    for account in (custodian, stranger):
        with ape.reverts(ledger.RecordRegistryUnauthorized, patient=patient.address, caller=account.address):
            add(ledger, patient, account)


def test_add_record__custodian_of_another_patient__reverts(ledger, patient, other_patient, custodian):
    ledger.authorizeCustodian(custodian, True, sender=other_patient)
    with ape.reverts(ledger.RecordRegistryUnauthorized, patient=patient.address, caller=custodian.address):
        add(ledger, patient, custodian)


def test_add_record__custodian_deauthorised__reverts(ledger, patient, custodian):
    ledger.authorizeCustodian(custodian, True, sender=patient)
    ledger.authorizeCustodian(custodian, False, sender=patient)
    assert not ledger.isCustodianFor(patient, custodian)
    with ape.reverts(ledger.RecordRegistryUnauthorized, patient=patient.address, caller=custodian.address):
        add(ledger, patient, custodian)


def test_add_record__existing_id__reverts(ledger, patient):
    record_id, salt = add(ledger, patient, patient)
    with ape.reverts(ledger.RecordRegistryRecordExists, recordId=record_id):
        add(ledger, patient, patient, salt=salt)


def test_add_record__retired_id__reverts(ledger, patient):
    record_id, salt = add(ledger, patient, patient)
    ledger.retireRecord(record_id, sender=patient)
    with ape.reverts(ledger.RecordRegistryRecordExists, recordId=record_id):
        add(ledger, patient, patient, salt=salt)


def test_add_record__zero_patient__reverts(ledger, patient):
    with ape.reverts(ledger.RecordRegistryInvalidPatient, patient=ZERO_ADDRESS):
        add(ledger, ZERO_ADDRESS, patient)


@pytest.mark.parametrize("data_class", [3, 255])
def test_add_record__invalid_data_class__reverts(ledger, patient, data_class):
    with ape.reverts(ledger.RecordRegistryInvalidDataClass, dataClass=data_class):
        add(ledger, patient, patient, data_class=data_class)


def test_update_record__bumps_version_and_emits(ledger, patient, custodian, create_record):
    record_id = create_record(data_class=EXPORTS)
    ledger.authorizeCustodian(custodian, True, sender=patient)
    new_hash, new_location, new_root = secrets.token_bytes(32), location_digest("records://n/bundles/x"), secrets.token_bytes(32)

    ledger.updateRecord(record_id, secrets.token_bytes(32), LOCATION, DAG_ROOT, sender=patient)
    tx = ledger.updateRecord(record_id, new_hash, new_location, new_root, sender=custodian)

    assert tx.decode_logs(ledger.RecordUpdated) == [
        ledger.RecordUpdated(
            recordId=record_id, patient=patient.address, dataClass=EXPORTS, version=3, ciphertextHash=new_hash,
            locationDigest=new_location, dagRoot=new_root,
        )
    ]
    assert ledger.getRecord(record_id) == (patient.address, EXPORTS, 3, ACTIVE, new_hash, new_location, new_root)


def test_update_record__unauthorised__reverts(ledger, patient, stranger, create_record):
    record_id = create_record()
    with ape.reverts(ledger.RecordRegistryUnauthorized, patient=patient.address, caller=stranger.address):
        ledger.updateRecord(record_id, ZERO32, LOCATION, DAG_ROOT, sender=stranger)


def test_update_record__unknown__reverts(ledger, patient):
    unknown = b"\x07" * 32
    with ape.reverts(ledger.RecordRegistryRecordNotActive, recordId=unknown, status=NONE):
        ledger.updateRecord(unknown, ZERO32, LOCATION, DAG_ROOT, sender=patient)


def test_update_record__retired__reverts(ledger, patient, create_record):
    record_id = create_record()
    ledger.retireRecord(record_id, sender=patient)
    with ape.reverts(ledger.RecordRegistryRecordNotActive, recordId=record_id, status=RETIRED):
        ledger.updateRecord(record_id, ZERO32, LOCATION, DAG_ROOT, sender=patient)


def test_retire_record__by_custodian__retires_and_emits(ledger, patient, custodian, create_record):
    record_id = create_record()
    ledger.authorizeCustodian(custodian, True, sender=patient)

    tx = ledger.retireRecord(record_id, sender=custodian)

    assert tx.decode_logs(ledger.RecordRetired) == [ledger.RecordRetired(recordId=record_id, patient=patient.address)]
    assert ledger.getRecord(record_id).status == RETIRED


def test_retire_record__unauthorised__reverts(ledger, patient, stranger, create_record):
    record_id = create_record()
    with ape.reverts(ledger.RecordRegistryUnauthorized, patient=patient.address, caller=stranger.address):
        ledger.retireRecord(record_id, sender=stranger)


def test_retire_record__twice__reverts(ledger, patient, create_record):
    record_id = create_record()
    ledger.retireRecord(record_id, sender=patient)
    with ape.reverts(ledger.RecordRegistryRecordNotActive, recordId=record_id, status=RETIRED):
        ledger.retireRecord(record_id, sender=patient)


def test_authorize_custodian__emits(ledger, patient, custodian):
    tx = ledger.authorizeCustodian(custodian, True, sender=patient)

    assert tx.decode_logs(ledger.CustodianAuthorized) == [
        ledger.CustodianAuthorized(patient=patient.address, custodian=custodian.address, allowed=True)
    ]
    assert ledger.isCustodianFor(patient, custodian)


def test_authorize_custodian__zero__reverts(ledger, patient):
    with ape.reverts(ledger.RecordRegistryInvalidCustodian, custodian=ZERO_ADDRESS):
        ledger.authorizeCustodian(ZERO_ADDRESS, True, sender=patient)


def test_set_custodian__by_owner__registers_and_emits(ledger, owner, custodian):
    tx = ledger.setCustodian(custodian, True, sender=owner)

    assert tx.decode_logs(ledger.CustodianRegistered) == [
        ledger.CustodianRegistered(custodian=custodian.address, registered=True)
    ]
    assert ledger.isRegisteredCustodian(custodian)


def test_set_custodian__not_owner__reverts(ledger, patient, custodian):
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=patient.address):
        ledger.setCustodian(custodian, True, sender=patient)


def test_set_custodian__zero__reverts(ledger, owner):
    with ape.reverts(ledger.RecordRegistryInvalidCustodian, custodian=ZERO_ADDRESS):
        ledger.setCustodian(ZERO_ADDRESS, True, sender=owner)


def test_anchor_batch__registered_custodian__anchors_and_emits(ledger, owner, custodian, chain):
    ledger.setCustodian(custodian, True, sender=owner)
    root = secrets.token_bytes(32)

    tx = ledger.anchorBatch(root, 360, sender=custodian)

    assert tx.decode_logs(ledger.BatchAnchored) == [
        ledger.BatchAnchored(root=root, custodian=custodian.address, leafCount=360)
    ]
    assert ledger.batchAnchor(root) == (custodian.address, 360, chain.blocks.head.timestamp)


def test_anchor_batch__unregistered__reverts(ledger, owner, patient, custodian):
    ledger.authorizeCustodian(custodian, True, sender=patient)  # a patient's authorisation is not registration
    for account in (custodian, patient, owner):
        with ape.reverts(ledger.RecordRegistryNotRegisteredCustodian, caller=account.address):
            ledger.anchorBatch(secrets.token_bytes(32), 1, sender=account)


def test_anchor_batch__unregistered_again__reverts(ledger, owner, custodian):
    ledger.setCustodian(custodian, True, sender=owner)
    ledger.setCustodian(custodian, False, sender=owner)
    with ape.reverts(ledger.RecordRegistryNotRegisteredCustodian, caller=custodian.address):
        ledger.anchorBatch(secrets.token_bytes(32), 1, sender=custodian)


@pytest.mark.parametrize("root, leaf_count", [(ZERO32, 10), (b"\x01" * 32, 0)])
def test_anchor_batch__empty__reverts(ledger, owner, custodian, root, leaf_count):
    ledger.setCustodian(custodian, True, sender=owner)
    with ape.reverts(ledger.RecordRegistryInvalidBatch, root=root, leafCount=leaf_count):
        ledger.anchorBatch(root, leaf_count, sender=custodian)


def test_anchor_batch__twice__reverts(ledger, owner, custodian, accounts):
    second_custodian = accounts[9]
    ledger.setCustodian(custodian, True, sender=owner)
    ledger.setCustodian(second_custodian, True, sender=owner)
    root = secrets.token_bytes(32)
    ledger.anchorBatch(root, 5, sender=custodian)
    with ape.reverts(ledger.RecordRegistryBatchAlreadyAnchored, root=root):
        ledger.anchorBatch(root, 7, sender=second_custodian)
    assert ledger.batchAnchor(root).leafCount == 5
