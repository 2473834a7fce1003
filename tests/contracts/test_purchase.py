"""Purchase escrow: buying, delivery confirmation by the gateway, reclaim by the buyer, pull payments."""

import ape
import pytest
from conftest import (
    APPROVED,
    DELIVERED,
    DELIVERY_WINDOW,
    DENIED,
    EXPORTS,
    HEART_RATE_WINDOWS,
    NONE,
    PAID,
    PENDING,
    PREDICTIONS_ALERTS,
    PRICE,
    REFUNDED,
    REVOKED,
)


@pytest.fixture(scope="session")
def priced_grant(ledger, patient, create_grant):
    """An approved request with the patient's heart-rate windows on sale at PRICE."""

    def create(**request_kwargs):
        request_id = create_grant(**request_kwargs)
        ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
        return request_id

    return create


# purchase


def test_purchase__pays_exact_price_into_escrow(ledger, patient, requester, priced_grant, chain):
    request_id = priced_grant()
    balance_before = ledger.balance

    tx = ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)

    purchase_id = request_id << 8 | HEART_RATE_WINDOWS
    deliver_by = chain.blocks.head.timestamp + DELIVERY_WINDOW
    assert tx.decode_logs(ledger.PurchasePaid) == [
        ledger.PurchasePaid(
            purchaseId=purchase_id,
            patient=patient.address,
            buyer=requester.address,
            requestId=request_id,
            dataClass=HEART_RATE_WINDOWS,
            amount=PRICE,
            deliverBy=deliver_by,
        )
    ]
    assert ledger.getPurchase(purchase_id) == (requester.address, PRICE // 10**9, deliver_by, PAID)
    assert ledger.balance == balance_before + PRICE
    assert ledger.creditOf(patient) == 0  # held until delivery


def test_purchase__each_data_class_separately(ledger, patient, requester, create_grant):
    request_id = create_grant()
    ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
    ledger.setPrice(EXPORTS, 3 * PRICE, sender=patient)

    ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)
    ledger.purchase(request_id, EXPORTS, 3 * PRICE, value=3 * PRICE, sender=requester)

    assert ledger.getPurchase(request_id << 8 | HEART_RATE_WINDOWS).amountGwei * 10**9 == PRICE
    assert ledger.getPurchase(request_id << 8 | EXPORTS).amountGwei * 10**9 == 3 * PRICE


def test_purchase__price_changed__reverts(ledger, patient, requester, priced_grant):
    request_id = priced_grant()
    ledger.setPrice(HEART_RATE_WINDOWS, 2 * PRICE, sender=patient)

    with ape.reverts(ledger.PurchaseEscrowWrongPrice, expected=2 * PRICE, actual=PRICE):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


@pytest.mark.parametrize("value", [0, PRICE - 1, PRICE + 1, 2 * PRICE])
def test_purchase__wrong_value__reverts(ledger, requester, priced_grant, value):
    request_id = priced_grant()
    with ape.reverts(ledger.PurchaseEscrowWrongValue, expected=PRICE, actual=value):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=value, sender=requester)


def test_purchase__not_for_sale__reverts(ledger, patient, requester, create_grant):
    request_id = create_grant()
    with ape.reverts(ledger.PurchaseEscrowNotForSale, patient=patient.address, dataClass=HEART_RATE_WINDOWS):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, 0, sender=requester)


def test_purchase__pending_consent__reverts(ledger, patient, requester, create_request):
    request_id = create_request()
    ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
    with ape.reverts(ledger.PurchaseEscrowConsentNotApproved, requestId=request_id, status=PENDING):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__denied_consent__reverts(ledger, patient, requester, create_request):
    request_id = create_request()
    ledger.deny(request_id, sender=patient)
    with ape.reverts(ledger.PurchaseEscrowConsentNotApproved, requestId=request_id, status=DENIED):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__revoked_consent__reverts(ledger, patient, requester, priced_grant):
    request_id = priced_grant()
    ledger.revoke(request_id, sender=patient)
    with ape.reverts(ledger.PurchaseEscrowConsentNotApproved, requestId=request_id, status=REVOKED):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__consent_expired__reverts(ledger, requester, priced_grant, chain, now):
    start = now()
    request_id = priced_grant(valid_from=start, valid_until=start + 1000)
    chain.pending_timestamp = start + 1000  # validUntil is exclusive
    with ape.reverts(ledger.PurchaseEscrowOutsideConsentPeriod, requestId=request_id, validFrom=start, validUntil=start + 1000):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__consent_not_yet_valid__reverts(ledger, requester, priced_grant, now):
    start = now() + 1000
    request_id = priced_grant(valid_from=start, valid_until=start + 1000)
    with ape.reverts(ledger.PurchaseEscrowOutsideConsentPeriod, requestId=request_id):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__data_class_not_consented__reverts(ledger, patient, requester, create_grant):
    request_id = create_grant(data_classes=1 << PREDICTIONS_ALERTS)
    ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
    with ape.reverts(ledger.PurchaseEscrowDataClassNotConsented, requestId=request_id, dataClass=HEART_RATE_WINDOWS):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__undefined_data_class__reverts(ledger, requester, priced_grant):
    request_id = priced_grant()
    with ape.reverts(ledger.PurchaseEscrowDataClassNotConsented, requestId=request_id, dataClass=3):
        ledger.purchase(request_id, 3, PRICE, value=PRICE, sender=requester)


def test_purchase__not_the_requester__reverts(ledger, doctor, priced_grant):
    request_id = priced_grant()
    with ape.reverts(ledger.PurchaseEscrowNotBuyer, requestId=request_id, caller=doctor.address):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=doctor)


def test_purchase__unknown_request__reverts(ledger, requester):
    with ape.reverts(ledger.PurchaseEscrowNotBuyer, requestId=99, caller=requester.address):
        ledger.purchase(99, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__paused__reverts(ledger, owner, requester, priced_grant):
    request_id = priced_grant()
    ledger.pause(sender=owner)
    with ape.reverts(ledger.EnforcedPause):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__twice__reverts(ledger, requester, create_purchase):
    request_id, purchase_id = create_purchase()
    with ape.reverts(ledger.PurchaseEscrowAlreadyPurchased, purchaseId=purchase_id):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


def test_purchase__after_refund__reverts(ledger, requester, create_purchase, chain):
    request_id, purchase_id = create_purchase()
    chain.mine(deltatime=DELIVERY_WINDOW + 1)
    ledger.reclaim(purchase_id, sender=requester)
    with ape.reverts(ledger.PurchaseEscrowAlreadyPurchased, purchaseId=purchase_id):
        ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester)


# confirmDelivery


def test_confirm_delivery__by_gateway__credits_patient(ledger, patient, gateway, create_purchase):
    _, purchase_id = create_purchase()

    tx = ledger.confirmDelivery(purchase_id, sender=gateway)

    assert tx.decode_logs(ledger.DeliveryConfirmed) == [
        ledger.DeliveryConfirmed(purchaseId=purchase_id, patient=patient.address, amount=PRICE)
    ]
    assert ledger.getPurchase(purchase_id).status == DELIVERED
    assert ledger.creditOf(patient) == PRICE


def test_confirm_delivery__at_deliver_by__accepted(ledger, gateway, create_purchase, chain):
    _, purchase_id = create_purchase()
    chain.pending_timestamp = ledger.getPurchase(purchase_id).deliverBy
    ledger.confirmDelivery(purchase_id, sender=gateway)
    assert ledger.getPurchase(purchase_id).status == DELIVERED


@pytest.mark.parametrize("caller", ["patient", "requester", "owner", "stranger"])
def test_confirm_delivery__not_gateway__reverts(ledger, create_purchase, request, caller):
    _, purchase_id = create_purchase()
    account = request.getfixturevalue(caller)
    with ape.reverts(ledger.PurchaseEscrowNotGateway, caller=account.address):
        ledger.confirmDelivery(purchase_id, sender=account)


def test_confirm_delivery__after_window__reverts(ledger, gateway, create_purchase, chain):
    _, purchase_id = create_purchase()
    deliver_by = ledger.getPurchase(purchase_id).deliverBy
    chain.pending_timestamp = deliver_by + 1
    with ape.reverts(ledger.PurchaseEscrowDeliveryWindowClosed, purchaseId=purchase_id, deliverBy=deliver_by):
        ledger.confirmDelivery(purchase_id, sender=gateway)


def test_confirm_delivery__consent_revoked__reverts(ledger, patient, gateway, create_purchase):
    request_id, purchase_id = create_purchase()
    ledger.revoke(request_id, sender=patient)
    with ape.reverts(ledger.PurchaseEscrowConsentNotInForce, purchaseId=purchase_id):
        ledger.confirmDelivery(purchase_id, sender=gateway)


def test_confirm_delivery__consent_period_ended__reverts_and_buyer_reclaims(ledger, requester, gateway, create_purchase, now, chain):
    """The gateway serves only under consent in force, so it confirms under the same rule: a consent that
    ended inside the delivery window leaves the buyer free to reclaim at once."""
    start = now()
    _, purchase_id = create_purchase(valid_from=start, valid_until=start + 600)
    assert ledger.getPurchase(purchase_id).deliverBy > start + 600
    chain.pending_timestamp = start + 600

    with ape.reverts(ledger.PurchaseEscrowConsentNotInForce, purchaseId=purchase_id):
        ledger.confirmDelivery(purchase_id, sender=gateway)
    ledger.reclaim(purchase_id, sender=requester)
    assert ledger.creditOf(requester) == PRICE


def test_confirm_delivery__twice__reverts(ledger, patient, gateway, create_purchase):
    _, purchase_id = create_purchase()
    ledger.confirmDelivery(purchase_id, sender=gateway)
    with ape.reverts(ledger.PurchaseEscrowNotPaid, purchaseId=purchase_id, status=DELIVERED):
        ledger.confirmDelivery(purchase_id, sender=gateway)
    assert ledger.creditOf(patient) == PRICE


def test_confirm_delivery__unknown_purchase__reverts(ledger, gateway):
    with ape.reverts(ledger.PurchaseEscrowNotPaid, purchaseId=12345, status=NONE):
        ledger.confirmDelivery(12345, sender=gateway)


def test_confirm_delivery__after_gateway_rotation__only_new_gateway(ledger, owner, gateway, stranger, create_purchase):
    _, purchase_id = create_purchase()
    ledger.setGateway(stranger, sender=owner)
    with ape.reverts(ledger.PurchaseEscrowNotGateway, caller=gateway.address):
        ledger.confirmDelivery(purchase_id, sender=gateway)
    ledger.confirmDelivery(purchase_id, sender=stranger)


# reclaim


def test_reclaim__after_window__refunds_buyer(ledger, patient, requester, create_purchase, chain):
    _, purchase_id = create_purchase()
    chain.pending_timestamp = ledger.getPurchase(purchase_id).deliverBy + 1

    tx = ledger.reclaim(purchase_id, sender=requester)

    assert tx.decode_logs(ledger.PurchaseRefunded) == [
        ledger.PurchaseRefunded(purchaseId=purchase_id, buyer=requester.address, amount=PRICE)
    ]
    assert ledger.getPurchase(purchase_id).status == REFUNDED
    assert ledger.creditOf(requester) == PRICE
    assert ledger.creditOf(patient) == 0


def test_reclaim__within_window__reverts(ledger, requester, create_purchase, chain):
    _, purchase_id = create_purchase()
    deliver_by = ledger.getPurchase(purchase_id).deliverBy
    chain.pending_timestamp = deliver_by
    with ape.reverts(ledger.PurchaseEscrowNotReclaimable, purchaseId=purchase_id, deliverBy=deliver_by):
        ledger.reclaim(purchase_id, sender=requester)


def test_reclaim__revoked_before_delivery__refunds_at_once(ledger, patient, requester, create_purchase):
    request_id, purchase_id = create_purchase()
    ledger.revoke(request_id, sender=patient)

    ledger.reclaim(purchase_id, sender=requester)

    assert ledger.creditOf(requester) == PRICE


def test_reclaim__revoked_after_delivery__reverts(ledger, patient, requester, gateway, create_purchase):
    request_id, purchase_id = create_purchase()
    ledger.confirmDelivery(purchase_id, sender=gateway)
    ledger.revoke(request_id, sender=patient)
    with ape.reverts(ledger.PurchaseEscrowNotPaid, purchaseId=purchase_id, status=DELIVERED):
        ledger.reclaim(purchase_id, sender=requester)


def test_reclaim__not_buyer__reverts(ledger, patient, stranger, create_purchase, chain):
    request_id, purchase_id = create_purchase()
    chain.mine(deltatime=DELIVERY_WINDOW + 1)
    for account in (patient, stranger):
        with ape.reverts(ledger.PurchaseEscrowNotBuyer, requestId=request_id, caller=account.address):
            ledger.reclaim(purchase_id, sender=account)


def test_reclaim__settles_once(ledger, requester, create_purchase, chain):
    _, purchase_id = create_purchase()
    chain.mine(deltatime=DELIVERY_WINDOW + 1)
    ledger.reclaim(purchase_id, sender=requester)
    with ape.reverts(ledger.PurchaseEscrowNotPaid, purchaseId=purchase_id, status=REFUNDED):
        ledger.reclaim(purchase_id, sender=requester)
    assert ledger.creditOf(requester) == PRICE


def test_reclaim__unknown_purchase_of_own_request__reverts(ledger, requester, create_grant):
    """Nobody bought it, so nobody is its buyer (the buyer is kept in the purchase itself)."""
    request_id = create_grant()
    purchase_id = request_id << 8 | EXPORTS
    with ape.reverts(ledger.PurchaseEscrowNotBuyer, requestId=request_id, caller=requester.address):
        ledger.reclaim(purchase_id, sender=requester)


def test_confirm_delivery__after_refund__reverts(ledger, requester, gateway, patient, create_purchase):
    request_id, purchase_id = create_purchase()
    ledger.revoke(request_id, sender=patient)
    ledger.reclaim(purchase_id, sender=requester)
    with ape.reverts(ledger.PurchaseEscrowNotPaid, purchaseId=purchase_id, status=REFUNDED):
        ledger.confirmDelivery(purchase_id, sender=gateway)


# withdraw / withdrawTo


def test_withdraw__pays_whole_credit_once(ledger, patient, gateway, create_purchase, chain):
    _, purchase_id = create_purchase()
    ledger.confirmDelivery(purchase_id, sender=gateway)
    balance_before = patient.balance

    tx = ledger.withdraw(sender=patient)

    assert tx.decode_logs(ledger.Withdrawn) == [
        ledger.Withdrawn(account=patient.address, to=patient.address, amount=PRICE)
    ]
    assert patient.balance == balance_before + PRICE - tx.total_fees_paid
    assert ledger.creditOf(patient) == 0
    with ape.reverts(ledger.PurchaseEscrowNothingToWithdraw, account=patient.address):
        ledger.withdraw(sender=patient)


def test_withdraw__refunded_buyer__gets_money_back(ledger, requester, patient, create_purchase):
    request_id, purchase_id = create_purchase()
    ledger.revoke(request_id, sender=patient)
    ledger.reclaim(purchase_id, sender=requester)
    balance_before = requester.balance

    tx = ledger.withdraw(sender=requester)

    assert requester.balance == balance_before + PRICE - tx.total_fees_paid


def test_withdraw__credits_accumulate(ledger, patient, requester, doctor, gateway, create_purchase):
    _, first = create_purchase(sender=requester)
    _, second = create_purchase(sender=doctor)
    ledger.confirmDelivery(first, sender=gateway)
    ledger.confirmDelivery(second, sender=gateway)
    assert ledger.creditOf(patient) == 2 * PRICE

    tx = ledger.withdraw(sender=patient)

    assert tx.decode_logs(ledger.Withdrawn)[0].amount == 2 * PRICE


def test_withdraw__nothing__reverts(ledger, stranger):
    with ape.reverts(ledger.PurchaseEscrowNothingToWithdraw, account=stranger.address):
        ledger.withdraw(sender=stranger)


def test_withdraw_to__pays_another_address(ledger, patient, stranger, gateway, create_purchase):
    _, purchase_id = create_purchase()
    ledger.confirmDelivery(purchase_id, sender=gateway)
    balance_before = stranger.balance

    tx = ledger.withdrawTo(stranger, sender=patient)

    assert tx.decode_logs(ledger.Withdrawn) == [
        ledger.Withdrawn(account=patient.address, to=stranger.address, amount=PRICE)
    ]
    assert stranger.balance == balance_before + PRICE
    assert ledger.creditOf(patient) == 0


def test_withdraw_to__zero_address__reverts(ledger, patient, gateway, create_purchase):
    _, purchase_id = create_purchase()
    ledger.confirmDelivery(purchase_id, sender=gateway)
    zero = "0x" + "00" * 20
    with ape.reverts(ledger.PurchaseEscrowInvalidRecipient, to=zero):
        ledger.withdrawTo(zero, sender=patient)


def test_withdraw_to__nothing__reverts(ledger, stranger, patient):
    with ape.reverts(ledger.PurchaseEscrowNothingToWithdraw, account=stranger.address):
        ledger.withdrawTo(patient, sender=stranger)


def test_purchase__then_delivery__balance_covers_credits(ledger, patient, requester, doctor, gateway, create_purchase):
    _, delivered = create_purchase(sender=requester)
    _, undelivered = create_purchase(sender=doctor, data_class=EXPORTS)
    ledger.confirmDelivery(delivered, sender=gateway)

    owed = ledger.creditOf(patient) + ledger.getPurchase(undelivered).amountGwei * 10**9
    assert ledger.balance >= owed
    assert ledger.getPurchase(undelivered).status == PAID
    assert ledger.getRequest(delivered >> 8).status == APPROVED
