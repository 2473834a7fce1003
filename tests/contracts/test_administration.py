"""Administration: two-step ownership, gateway and delivery window, and an emergency pause that never
stops money or consent from leaving."""

import ape
from conftest import DELIVERY_WINDOW, HEART_RATE_WINDOWS, PRICE

ZERO_ADDRESS = "0x" + "00" * 20


def test_deploy__deployer_owns_with_gateway_and_window(ledger, owner, gateway):
    assert ledger.owner() == owner.address
    assert ledger.gateway() == gateway.address
    assert ledger.deliveryWindow() == DELIVERY_WINDOW
    assert not ledger.paused()


def test_deploy__zero_gateway__reverts(project, owner):
    with ape.reverts(project.PulseLedger.PulseLedgerInvalidGateway, gateway=ZERO_ADDRESS):
        owner.deploy(project.PulseLedger, ZERO_ADDRESS, DELIVERY_WINDOW)


def test_deploy__zero_window__reverts(project, owner, gateway):
    with ape.reverts(project.PulseLedger.PulseLedgerInvalidDeliveryWindow, deliveryWindow=0):
        owner.deploy(project.PulseLedger, gateway, 0)


def test_transfer_ownership__takes_two_steps(ledger, owner, stranger):
    tx = ledger.transferOwnership(stranger, sender=owner)

    assert tx.decode_logs(ledger.OwnershipTransferStarted)[0].newOwner == stranger.address
    assert ledger.owner() == owner.address
    assert ledger.pendingOwner() == stranger.address

    tx = ledger.acceptOwnership(sender=stranger)

    assert tx.decode_logs(ledger.OwnershipTransferred)[0].newOwner == stranger.address
    assert ledger.owner() == stranger.address
    assert ledger.pendingOwner() == ZERO_ADDRESS
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=owner.address):
        ledger.pause(sender=owner)


def test_accept_ownership__not_pending_owner__reverts(ledger, owner, stranger, patient):
    ledger.transferOwnership(stranger, sender=owner)
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=patient.address):
        ledger.acceptOwnership(sender=patient)


def test_transfer_ownership__not_owner__reverts(ledger, stranger):
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=stranger.address):
        ledger.transferOwnership(stranger, sender=stranger)


def test_set_gateway__rotates_and_emits(ledger, owner, gateway, stranger):
    tx = ledger.setGateway(stranger, sender=owner)

    assert tx.decode_logs(ledger.GatewayChanged) == [
        ledger.GatewayChanged(previous=gateway.address, current=stranger.address)
    ]
    assert ledger.gateway() == stranger.address


def test_set_gateway__not_owner__reverts(ledger, gateway):
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=gateway.address):
        ledger.setGateway(gateway, sender=gateway)


def test_set_gateway__zero__reverts(ledger, owner):
    with ape.reverts(ledger.PulseLedgerInvalidGateway, gateway=ZERO_ADDRESS):
        ledger.setGateway(ZERO_ADDRESS, sender=owner)


def test_set_delivery_window__applies_to_new_purchases(ledger, owner, doctor, create_purchase):
    _, before = create_purchase()
    deliver_by_before = ledger.getPurchase(before).deliverBy

    tx = ledger.setDeliveryWindow(60, sender=owner)
    _, after = create_purchase(sender=doctor)

    assert tx.decode_logs(ledger.DeliveryWindowChanged) == [
        ledger.DeliveryWindowChanged(previous=DELIVERY_WINDOW, current=60)
    ]
    assert ledger.getPurchase(before).deliverBy == deliver_by_before
    assert ledger.getPurchase(after).deliverBy == ape.chain.blocks.head.timestamp + 60


def test_set_delivery_window__not_owner__reverts(ledger, stranger):
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=stranger.address):
        ledger.setDeliveryWindow(60, sender=stranger)


def test_set_delivery_window__zero__reverts(ledger, owner):
    with ape.reverts(ledger.PulseLedgerInvalidDeliveryWindow, deliveryWindow=0):
        ledger.setDeliveryWindow(0, sender=owner)


def test_set_delivery_window__max__accepted_and_one_more__reverts(ledger, owner):
    """Bounded: a buyer's money is never held undelivered for more than 7 days, and no window can make
    `now + window` overflow uint40 (which would stop every purchase)."""
    maximum = ledger.MAX_DELIVERY_WINDOW()
    assert maximum == 7 * 24 * 3600
    ledger.setDeliveryWindow(maximum, sender=owner)
    assert ledger.deliveryWindow() == maximum
    for too_long in (maximum + 1, 2**40 - 1):
        with ape.reverts(ledger.PulseLedgerInvalidDeliveryWindow, deliveryWindow=too_long):
            ledger.setDeliveryWindow(too_long, sender=owner)


def test_deploy__window_above_max__reverts(project, owner, gateway):
    with ape.reverts(project.PulseLedger.PulseLedgerInvalidDeliveryWindow, deliveryWindow=7 * 24 * 3600 + 1):
        owner.deploy(project.PulseLedger, gateway, 7 * 24 * 3600 + 1)


def test_pause__not_owner__reverts(ledger, stranger, owner):
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=stranger.address):
        ledger.pause(sender=stranger)
    ledger.pause(sender=owner)
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=stranger.address):
        ledger.unpause(sender=stranger)


def test_pause__keeps_money_and_consent_moving(ledger, owner, patient, requester, doctor, stranger, gateway, create_purchase, create_grant, create_request, sign_decision, relayer):
    """Paused: no new requests or purchases; withdraw, withdrawTo, reclaim, revoke, deliveries, decisions on
    open requests and prices still work."""
    delivered_request, delivered = create_purchase(sender=requester)
    refunded_request, refunded = create_purchase(sender=doctor)
    pending = create_request(sender=stranger)
    ledger.confirmDelivery(delivered, sender=gateway)

    tx = ledger.pause(sender=owner)

    assert tx.decode_logs(ledger.Paused)[0].account == owner.address
    with ape.reverts(ledger.EnforcedPause):
        create_request()
    with ape.reverts(ledger.EnforcedPause):
        ledger.purchase(delivered_request, 1, PRICE, value=PRICE, sender=requester)
    ledger.revoke(refunded_request, sender=patient)
    ledger.reclaim(refunded, sender=doctor)
    ledger.withdraw(sender=patient)
    ledger.withdrawTo(doctor, sender=doctor)
    signature, deadline = sign_decision(patient, pending, 1)
    ledger.decideBySig(pending, 1, deadline, signature, sender=relayer)
    assert ledger.creditOf(patient) == ledger.creditOf(doctor) == 0

    tx = ledger.unpause(sender=owner)

    assert tx.decode_logs(ledger.Unpaused)[0].account == owner.address
    ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
    ledger.purchase(pending, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=stranger)


def test_renounce_ownership__disabled__the_owner_stays(ledger, owner, stranger):
    """Without an owner a paused deployment would stay paused for ever and the gateway could
    never be rotated: renouncing reverts, for the owner too; transferring still works."""
    ledger.pause(sender=owner)
    with ape.reverts(ledger.PulseLedgerRenounceDisabled):
        ledger.renounceOwnership(sender=owner)
    with ape.reverts(ledger.OwnableUnauthorizedAccount, account=stranger.address):
        ledger.renounceOwnership(sender=stranger)
    assert ledger.owner() == owner.address
    ledger.unpause(sender=owner)
