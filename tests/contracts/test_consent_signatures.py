"""Consent decisions by EIP-712 signature, relayed by anyone; every signature attack reverts."""

import ape
import pytest
from conftest import (
    APPROVE,
    APPROVED,
    DELIVERY_WINDOW,
    DENIED,
    DENY,
    HEART_RATE_WINDOWS,
    PENDING,
    PURPOSE_TREAT,
    REVOKE,
    REVOKED,
    SECP256K1_N,
)

ZERO_ADDRESS = "0x" + "00" * 20


def test_decide_by_sig__relayed_approve__approves_and_bumps_nonce(ledger, patient, requester, relayer, create_request, sign_decision):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, APPROVE)

    tx = ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)

    assert tx.decode_logs(ledger.ConsentApproved) == [
        ledger.ConsentApproved(requestId=request_id, patient=patient.address, requester=requester.address)
    ]
    assert ledger.getRequest(request_id).status == APPROVED
    assert ledger.nonces(patient) == 1
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_decide_by_sig__relayed_deny__denies(ledger, patient, requester, relayer, create_request, sign_decision):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, DENY)

    tx = ledger.decideBySig(request_id, DENY, deadline, signature, sender=relayer)

    assert len(tx.decode_logs(ledger.ConsentDenied)) == 1
    assert ledger.getRequest(request_id).status == DENIED
    assert ledger.nonces(patient) == 1


def test_decide_by_sig__relayed_revoke__revokes(ledger, patient, requester, relayer, create_grant, sign_decision):
    request_id = create_grant()
    signature, deadline = sign_decision(patient, request_id, REVOKE)

    tx = ledger.decideBySig(request_id, REVOKE, deadline, signature, sender=relayer)

    assert len(tx.decode_logs(ledger.ConsentRevoked)) == 1
    assert ledger.getRequest(request_id).status == REVOKED
    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_decide_by_sig__patient_relays_own_signature__works(ledger, patient, create_request, sign_decision):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, APPROVE)

    ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=patient)

    assert ledger.getRequest(request_id).status == APPROVED


def test_decide_by_sig__at_deadline__accepted(ledger, patient, relayer, create_request, sign_decision, chain, now):
    request_id = create_request()
    deadline = now() + 600
    signature, _ = sign_decision(patient, request_id, APPROVE, deadline=deadline)
    chain.pending_timestamp = deadline

    ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)

    assert ledger.getRequest(request_id).status == APPROVED


def test_decide_by_sig__replayed__reverts(ledger, patient, relayer, create_grant, sign_decision):
    request_id = create_grant()
    signature, deadline = sign_decision(patient, request_id, REVOKE)
    ledger.decideBySig(request_id, REVOKE, deadline, signature, sender=relayer)

    with ape.reverts(ledger.ConsentRegistryInvalidSigner, patient=patient.address):
        ledger.decideBySig(request_id, REVOKE, deadline, signature, sender=relayer)


def test_decide_by_sig__stale_nonce__reverts(ledger, patient, relayer, create_request, sign_decision):
    first, second = create_request(), create_request()
    first_signature, deadline = sign_decision(patient, first, APPROVE)
    second_signature, _ = sign_decision(patient, second, APPROVE, deadline=deadline)  # also signed at nonce 0
    ledger.decideBySig(first, APPROVE, deadline, first_signature, sender=relayer)

    with ape.reverts(ledger.ConsentRegistryInvalidSigner, patient=patient.address):
        ledger.decideBySig(second, APPROVE, deadline, second_signature, sender=relayer)


def test_decide_by_sig__expired__reverts(ledger, patient, relayer, create_request, sign_decision, chain, now):
    request_id = create_request()
    deadline = now() + 600
    signature, _ = sign_decision(patient, request_id, APPROVE, deadline=deadline)
    chain.pending_timestamp = deadline + 1

    with ape.reverts(ledger.ConsentRegistrySignatureExpired, deadline=deadline, timestamp=deadline + 1):
        ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)


def test_decide_by_sig__malleated_high_s__reverts(ledger, patient, relayer, create_request, sign_decision):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, APPROVE)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    high_s = SECP256K1_N - s
    malleated = r + high_s.to_bytes(32, "big") + bytes([55 - v])  # the other valid (r, s, v) for the same key

    with ape.reverts(ledger.ConsentRegistryInvalidSignatureS, s=high_s.to_bytes(32, "big")):
        ledger.decideBySig(request_id, APPROVE, deadline, malleated, sender=relayer)


def test_decide_by_sig__other_chain_id__reverts(ledger, patient, relayer, create_request, sign_decision, chain):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, APPROVE, chain_id=chain.chain_id + 1)

    with ape.reverts(ledger.ConsentRegistryInvalidSigner, patient=patient.address):
        ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)


def test_decide_by_sig__other_verifying_contract__reverts(project, ledger, owner, gateway, patient, requester, relayer, create_request, sign_decision, now):
    other_ledger = owner.deploy(project.PulseLedger, gateway, DELIVERY_WINDOW)
    request_id = create_request()
    other_ledger.requestConsent(patient, PURPOSE_TREAT, 1, now(), now() + 1000, b"\0" * 32, sender=requester)
    signature, deadline = sign_decision(patient, request_id, APPROVE, verifying_contract=other_ledger.address)

    with ape.reverts(ledger.ConsentRegistryInvalidSigner, patient=patient.address):
        ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)

    # The same signature is good where it was meant to go: only the domain made the difference.
    other_ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)
    assert other_ledger.getRequest(request_id).status == APPROVED


def test_decide_by_sig__wrong_signer__reverts(ledger, patient, stranger, relayer, create_request, sign_decision):
    request_id = create_request()
    signature, deadline = sign_decision(stranger, request_id, APPROVE, nonce=0)

    with ape.reverts(ledger.ConsentRegistryInvalidSigner, signer=stranger.address, patient=patient.address):
        ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)


def test_decide_by_sig__signed_decision_differs__reverts(ledger, patient, relayer, create_request, sign_decision):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, DENY)

    with ape.reverts(ledger.ConsentRegistryInvalidSigner, patient=patient.address):
        ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)


def test_decide_by_sig__invalid_v__reverts(ledger, patient, relayer, create_request, sign_decision):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, APPROVE)

    with ape.reverts(ledger.ConsentRegistryInvalidSigner, signer=ZERO_ADDRESS, patient=patient.address):
        ledger.decideBySig(request_id, APPROVE, deadline, signature[:64] + bytes([29]), sender=relayer)


@pytest.mark.parametrize("length", [0, 64, 66])
def test_decide_by_sig__wrong_length__reverts(ledger, patient, relayer, create_request, sign_decision, length):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, APPROVE)
    wrong = (bytes(signature) + b"\x01")[:length]

    with ape.reverts(ledger.ConsentRegistryInvalidSignatureLength, length=length):
        ledger.decideBySig(request_id, APPROVE, deadline, wrong, sender=relayer)


@pytest.mark.parametrize("decision", [0, 4, 255])
def test_decide_by_sig__invalid_decision__reverts(ledger, patient, relayer, create_request, sign_decision, decision):
    request_id = create_request()
    signature, deadline = sign_decision(patient, request_id, decision)

    with ape.reverts(ledger.ConsentRegistryInvalidDecision, decision=decision):
        ledger.decideBySig(request_id, decision, deadline, signature, sender=relayer)


def test_decide_by_sig__unknown_request__reverts(ledger, patient, relayer, sign_decision):
    signature, deadline = sign_decision(patient, 77, APPROVE)

    with ape.reverts(ledger.ConsentRegistryUnknownRequest, requestId=77):
        ledger.decideBySig(77, APPROVE, deadline, signature, sender=relayer)


def test_decide_by_sig__wrong_status__reverts_and_keeps_nonce(ledger, patient, relayer, create_grant, sign_decision):
    request_id = create_grant()
    signature, deadline = sign_decision(patient, request_id, APPROVE)

    with ape.reverts(ledger.ConsentRegistryWrongStatus, requestId=request_id, status=APPROVED):
        ledger.decideBySig(request_id, APPROVE, deadline, signature, sender=relayer)
    assert ledger.nonces(patient) == 0


def test_domain_separator__matches_eip712_domain(ledger, chain):
    from eth_abi import encode
    from eth_utils import keccak

    domain_type = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_type, keccak(text="PulseLedger"), keccak(text="1"), chain.chain_id, ledger.address],
        )
    )
    assert ledger.DOMAIN_SEPARATOR() == expected


def test_cancel_signatures__an_unrelayed_decision_is_void__the_next_one_counts(
        ledger, owner, patient, requester, stranger, relayer, create_request, sign_decision):
    """A patient signed an approval and changed their mind before anyone relayed it: without a way
    to void it, whoever held the signature chose when it took effect (and beat a later deny signed
    with the same nonce). Cancelling moves the nonce on, also while paused; it touches only the
    caller's own nonce."""
    request_id = create_request()
    stale, deadline = sign_decision(patient, request_id, APPROVE)
    ledger.pause(sender=owner)
    tx = ledger.cancelSignatures(sender=patient)
    ledger.unpause(sender=owner)
    assert tx.decode_logs(ledger.ConsentSignaturesCancelled) == [
        ledger.ConsentSignaturesCancelled(patient=patient.address, nextNonce=1)]
    assert ledger.nonces(patient) == 1

    with ape.reverts(ledger.ConsentRegistryInvalidSigner):
        ledger.decideBySig(request_id, APPROVE, deadline, stale, sender=relayer)
    assert ledger.getRequest(request_id).status == PENDING

    deny, deadline = sign_decision(patient, request_id, DENY)
    ledger.decideBySig(request_id, DENY, deadline, deny, sender=relayer)
    assert ledger.getRequest(request_id).status == DENIED and ledger.nonces(patient) == 2
    ledger.cancelSignatures(sender=stranger)
    assert ledger.nonces(patient) == 2  # nobody moves another's nonce
