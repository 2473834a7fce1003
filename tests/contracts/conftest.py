"""Roles, a deployed PulseLedger and factories for consent, prices, purchases and records.

Everything is session-scoped; ape reverts the chain to the session snapshot after every test.
"""

import secrets
from contextlib import contextmanager

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from services.chain.eip712 import consent_decision_typed_data
from services.chain.record_registry import location_digest

HEART_RATE_WINDOWS, PREDICTIONS_ALERTS, EXPORTS = 0, 1, 2
ALL_DATA_CLASSES = 0b111
# ConsentStatus, PurchaseStatus, RecordStatus, ConsentDecision as in the interfaces.
NONE, PENDING, APPROVED, DENIED, REVOKED = range(5)
PAID, DELIVERED, REFUNDED = 1, 2, 3
ACTIVE, RETIRED = 1, 2
APPROVE, DENY, REVOKE = 1, 2, 3

DELIVERY_WINDOW = 3600
CONSENT_PERIOD = 30 * 24 * 3600
PRICE = 10**15
PURPOSE_TREAT = b"TREAT".ljust(32, b"\0")
CONSENT_DOC_HASH = bytes.fromhex("5a" * 32)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@contextmanager
def manual_mining(chain):
    """Automine off: sent transactions wait in the pool until `chain.mine()` (front-running tests)."""
    chain.provider.auto_mine = False
    try:
        yield chain.provider.web3
    finally:
        chain.provider.auto_mine = True


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def patient(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def requester(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def doctor(accounts):
    """A second requester."""
    return accounts[3]


@pytest.fixture(scope="session")
def custodian(accounts):
    """A storage operator the patient authorises to write records (and the owner registers to anchor)."""
    return accounts[4]


@pytest.fixture(scope="session")
def gateway(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def relayer(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def other_patient(accounts):
    return accounts[8]


@pytest.fixture(scope="session")
def ledger(project, owner, gateway):
    return owner.deploy(project.PulseLedger, gateway, DELIVERY_WINDOW)


@pytest.fixture(scope="session")
def now(chain):
    """The pending block's timestamp: a validFrom no later block can precede.

    (Not the head's: anvil keeps its clock offset across ape's snapshot reverts, so the next block can be
    far ahead of the reverted head.)"""
    return lambda: chain.pending_timestamp


@pytest.fixture(scope="session")
def create_request(ledger, patient, requester, now):
    def create(
        *,
        sender=None,
        to=None,
        data_classes=ALL_DATA_CLASSES,
        valid_from=None,
        valid_until=None,
        purpose=PURPOSE_TREAT,
        doc_hash=CONSENT_DOC_HASH,
    ):
        valid_from = now() if valid_from is None else valid_from
        valid_until = valid_from + CONSENT_PERIOD if valid_until is None else valid_until
        tx = ledger.requestConsent(
            to or patient, purpose, data_classes, valid_from, valid_until, doc_hash, sender=sender or requester
        )
        return tx.decode_logs(ledger.ConsentRequested)[0].requestId

    return create


@pytest.fixture(scope="session")
def create_grant(ledger, patient, create_request):
    """An approved request."""

    def create(*, to=None, **request_kwargs):
        request_id = create_request(to=to, **request_kwargs)
        ledger.approve(request_id, sender=to or patient)
        return request_id

    return create


@pytest.fixture(scope="session")
def create_purchase(ledger, patient, requester, create_grant):
    """A paid purchase; returns (request_id, purchase_id)."""

    def create(*, data_class=HEART_RATE_WINDOWS, price=PRICE, to=None, sender=None, **request_kwargs):
        seller = to or patient
        buyer = sender or requester
        request_id = create_grant(to=seller, sender=buyer, **request_kwargs)
        if ledger.priceOf(seller, data_class) != price:
            ledger.setPrice(data_class, price, sender=seller)
        tx = ledger.purchase(request_id, data_class, price, value=price, sender=buyer)
        return request_id, tx.decode_logs(ledger.PurchasePaid)[0].purchaseId

    return create


@pytest.fixture(scope="session")
def create_record(ledger, patient):
    def create(*, data_class=HEART_RATE_WINDOWS, owner_patient=None, sender=None, location="records://n/bundles/r"):
        tx = ledger.addRecord(
            owner_patient or patient,
            secrets.token_bytes(32),
            data_class,
            secrets.token_bytes(32),
            location_digest(location),
            secrets.token_bytes(32),
            sender=sender or owner_patient or patient,
        )
        return tx.decode_logs(ledger.RecordAdded)[0].recordId

    return create


@pytest.fixture(scope="session")
def sign_decision(ledger, chain, now):
    """EIP-712 ConsentDecision signature by `signer`; domain fields can be overridden to attack."""

    def sign(signer, request_id, decision, *, deadline=None, nonce=None, chain_id=None, verifying_contract=None):
        deadline = now() + 3600 if deadline is None else deadline
        message = consent_decision_typed_data(
            chain_id=chain.chain_id if chain_id is None else chain_id,
            verifying_contract=verifying_contract or ledger.address,
            request_id=request_id,
            decision=decision,
            nonce=ledger.nonces(signer.address) if nonce is None else nonce,
            deadline=deadline,
        )
        signed = Account.sign_message(encode_typed_data(full_message=message), signer.private_key)
        return signed.signature, deadline

    return sign
