"""Issue 14 finding 2: `isAllowed(patient, requester, class)` is true exactly when an approved, unrevoked
request of that pair covers the class and now lies in its period, whatever the order of approvals,
revocations and expiries. Approving an expired request reverts; a future-dated approval cannot hide a live
grant (one unexpired grant per pair and class); revoke ends one request only."""

import ape
from conftest import (
    APPROVED,
    EXPORTS,
    HEART_RATE_WINDOWS,
    PENDING,
    PREDICTIONS_ALERTS,
    PRICE,
    REVOKED,
)

CLASSES = (HEART_RATE_WINDOWS, PREDICTIONS_ALERTS, EXPORTS)


def oracle(ledger, request_ids, data_class, timestamp):
    """The sentence, evaluated over every request of the pair from the stored requests."""
    for request_id in request_ids:
        r = ledger.getRequest(request_id)
        if r.status == APPROVED and (r.dataClasses >> data_class) & 1 and r.validFrom <= timestamp < r.validUntil:
            return True
    return False


def assert_sentence(ledger, patient, requester, request_ids, chain):
    timestamp = chain.blocks.head.timestamp
    answers = tuple(ledger.isAllowed(patient, requester, data_class) for data_class in CLASSES)
    assert answers == tuple(oracle(ledger, request_ids, data_class, timestamp) for data_class in CLASSES)
    return answers


def test_approve__expired_request__reverts(ledger, patient, create_request, chain, now):
    start = now()
    request_id = create_request(valid_from=start, valid_until=start + 100)
    chain.pending_timestamp = start + 100

    with ape.reverts(ledger.ConsentRegistryRequestExpired, requestId=request_id, validUntil=start + 100):
        ledger.approve(request_id, sender=patient)


def test_decide_by_sig__expired_request__reverts(ledger, patient, relayer, create_request, sign_decision, chain, now):
    start = now()
    request_id = create_request(valid_from=start, valid_until=start + 100)
    signature, deadline = sign_decision(patient, request_id, 1, deadline=start + 10_000)
    chain.pending_timestamp = start + 150

    with ape.reverts(ledger.ConsentRegistryRequestExpired, requestId=request_id, validUntil=start + 100):
        ledger.decideBySig(request_id, 1, deadline, signature, sender=relayer)


def test_approve__future_dated_while_live__reverts_and_live_grant_stays(ledger, patient, requester, create_grant, create_request, now):
    """The issue's scenario: a newer approval would have re-pointed the pair and hidden the live grant."""
    live = create_grant(data_classes=1 << HEART_RATE_WINDOWS)
    ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
    future = create_request(data_classes=1 << HEART_RATE_WINDOWS, valid_from=now() + 10**6)

    with ape.reverts(ledger.ConsentRegistryAlreadyGranted, requestId=future, dataClass=HEART_RATE_WINDOWS, grantId=live):
        ledger.approve(future, sender=patient)

    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)
    assert ledger.isInForce(live, HEART_RATE_WINDOWS)
    ledger.purchase(live, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_approve__future_dated_with_no_live_grant__allows_only_from_its_start(ledger, patient, requester, create_grant, chain, now):
    start = now() + 1000
    future = create_grant(valid_from=start, valid_until=start + 1000)

    assert ledger.grantOf(patient, requester, HEART_RATE_WINDOWS) == future
    assert not ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)
    chain.mine(timestamp=start)
    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)


def test_approve__right_after_the_live_grant_ends__takes_over(ledger, patient, requester, create_grant, create_request, chain, now):
    start = now()
    first = create_grant(valid_from=start, valid_until=start + 500)
    second = create_request(valid_from=start + 500, valid_until=start + 5000)
    chain.mine(timestamp=start + 500)

    ledger.approve(second, sender=patient)

    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)
    assert not ledger.isInForce(first, HEART_RATE_WINDOWS) and ledger.isInForce(second, HEART_RATE_WINDOWS)


def test_revoke__ends_only_its_own_request(ledger, patient, requester, create_grant):
    heart = create_grant(data_classes=1 << HEART_RATE_WINDOWS)
    exports = create_grant(data_classes=1 << EXPORTS)

    ledger.revoke(exports, sender=patient)

    assert ledger.isAllowed(patient, requester, HEART_RATE_WINDOWS)
    assert not ledger.isAllowed(patient, requester, EXPORTS)
    assert (ledger.getRequest(heart).status, ledger.getRequest(exports).status) == (APPROVED, REVOKED)


def test_interleaved_approvals_revocations_and_expiries__is_allowed_matches_the_sentence(ledger, patient, requester, create_request, chain, now):
    """A fixed interleaving of every kind of step; after each one the contract's answer equals the sentence
    evaluated over all the pair's requests (the forge invariant does the same over random sequences)."""
    t0 = now()
    requests = []

    def open_(classes, start, end):
        requests.append(create_request(data_classes=classes, valid_from=t0 + start, valid_until=t0 + end))
        return requests[-1]

    def try_approve(request_id):
        try:
            ledger.approve(request_id, sender=patient)
        except ape.exceptions.ContractLogicError:
            assert ledger.getRequest(request_id).status == PENDING

    a = open_(0b001, 0, 1000)
    b = open_(0b110, 0, 300)
    c = open_(0b011, 200, 2000)   # overlaps a on class 0 and b on class 1
    d = open_(0b100, 1500, 3000)  # future-dated
    steps = [
        lambda: try_approve(a), lambda: try_approve(b), lambda: try_approve(c), lambda: try_approve(d),
        lambda: chain.mine(timestamp=t0 + 250), lambda: ledger.revoke(a, sender=patient), lambda: try_approve(c),
        lambda: chain.mine(timestamp=t0 + 310), lambda: try_approve(c), lambda: ledger.revoke(b, sender=patient)
        if ledger.getRequest(b).status == APPROVED else None,
        lambda: chain.mine(timestamp=t0 + 1600), lambda: ledger.revoke(c, sender=patient),
        lambda: chain.mine(timestamp=t0 + 3000),
    ]
    seen = set()
    for step in steps:
        step()
        seen.add(assert_sentence(ledger, patient, requester, requests, chain))
    assert len(seen) >= 4  # the answers moved through several states, not one trivially agreed value
    assert ledger.getRequest(c).status == REVOKED  # refused while a or b held its classes, granted after, revoked last
