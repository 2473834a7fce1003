"""Attacks with real attacker contracts (contracts/test/): re-entrancy, a patient that refuses ETH, ETH forced
into the ledger, and a price change slipped in front of a purchase in the same block."""

import ape
import pytest
from conftest import HEART_RATE_WINDOWS, NONE, PRICE, manual_mining
from eth_abi import encode
from eth_utils import keccak


@pytest.fixture(scope="session")
def contract_patient(ledger, requester, gateway, create_grant):
    """Make `actor` (a ContractActor) a patient with one delivered sale to `requester`; returns the purchase id."""

    def sell(actor, controller):
        request_id = ledger.requestConsent(
            actor, b"TREAT".ljust(32, b"\0"), 1, ape.chain.pending_timestamp, ape.chain.pending_timestamp + 10**6,
            b"\x01" * 32, sender=requester,
        ).decode_logs(ledger.ConsentRequested)[0].requestId
        actor.execute(ledger, ledger.approve.encode_input(request_id), sender=controller)
        actor.execute(ledger, ledger.setPrice.encode_input(HEART_RATE_WINDOWS, PRICE), sender=controller)
        purchase_id = ledger.purchase(request_id, HEART_RATE_WINDOWS, PRICE, value=PRICE, sender=requester).decode_logs(
            ledger.PurchasePaid
        )[0].purchaseId
        ledger.confirmDelivery(purchase_id, sender=gateway)
        return purchase_id

    return sell


@pytest.fixture(scope="session")
def honest_credit(ledger, patient, doctor, gateway, create_purchase):
    """Another patient's credit sitting in the ledger: what a successful attack would steal."""

    def create():
        _, purchase_id = create_purchase(sender=doctor)
        ledger.confirmDelivery(purchase_id, sender=gateway)
        return ledger.creditOf(patient)

    return create


def error_data(signature, types, values):
    return keccak(text=signature)[:4] + encode(types, values)


# re-entrancy


def test_withdraw__reentered_by_recipient__pays_once(project, ledger, stranger, patient, contract_patient, honest_credit):
    attacker = stranger.deploy(project.ReentrantWithdrawer)
    contract_patient(attacker, stranger)
    honest = honest_credit()

    attacker.execute(ledger, ledger.withdraw.encode_input(), sender=stranger)

    assert attacker.balance == PRICE
    assert attacker.reentryAttempts() == 1
    assert not attacker.reentrySucceeded()
    assert attacker.reentryRevertData() == keccak(text="ReentrancyGuardReentrantCall()")[:4]
    assert ledger.creditOf(attacker) == 0
    assert ledger.creditOf(patient) == honest
    assert ledger.balance >= honest


def test_withdraw__reentry_failure_bubbled__reverts_and_keeps_credit(project, ledger, stranger, contract_patient, honest_credit):
    attacker = stranger.deploy(project.ReentrantWithdrawer)
    contract_patient(attacker, stranger)
    attacker.setBubble(True, sender=stranger)
    honest_credit()
    balance_before = ledger.balance

    with ape.reverts(ledger.PurchaseEscrowWithdrawFailed, to=attacker.address, amount=PRICE):
        attacker.execute(ledger, ledger.withdraw.encode_input(), sender=stranger)

    assert ledger.creditOf(attacker) == PRICE
    assert ledger.balance == balance_before
    assert attacker.balance == 0


# a patient whose receive() reverts


def test_reverting_patient__buyers_still_buy(project, ledger, owner, requester, gateway, contract_patient):
    refusing = owner.deploy(project.RevertingPatient)
    balance_before = ledger.balance

    contract_patient(refusing, owner)  # approve, price, purchase and delivery all go through

    assert ledger.creditOf(refusing) == PRICE
    assert ledger.balance == balance_before + PRICE


def test_reverting_patient__only_own_withdraw_fails(project, ledger, owner, patient, contract_patient, honest_credit):
    refusing = owner.deploy(project.RevertingPatient)
    contract_patient(refusing, owner)
    honest = honest_credit()

    with ape.reverts(ledger.PurchaseEscrowWithdrawFailed, to=refusing.address, amount=PRICE):
        refusing.execute(ledger, ledger.withdraw.encode_input(), sender=owner)

    assert ledger.creditOf(refusing) == PRICE
    ledger.withdraw(sender=patient)  # everyone else is unaffected
    assert ledger.creditOf(patient) == 0 and honest > 0


def test_reverting_patient__withdraw_to_rescues(project, ledger, owner, stranger, contract_patient):
    refusing = owner.deploy(project.RevertingPatient)
    contract_patient(refusing, owner)
    balance_before = stranger.balance

    refusing.execute(ledger, ledger.withdrawTo.encode_input(stranger), sender=owner)

    assert stranger.balance == balance_before + PRICE
    assert ledger.creditOf(refusing) == 0


def test_contract_actor__only_controller(project, ledger, owner, stranger):
    refusing = owner.deploy(project.RevertingPatient)
    with ape.reverts(refusing.ContractActorNotController, caller=stranger.address):
        refusing.execute(ledger, ledger.withdraw.encode_input(), sender=stranger)


# forced ETH


def test_forced_eth__accounting_unaffected(project, ledger, owner, patient, requester, gateway, create_purchase):
    _, purchase_id = create_purchase()
    forced = 7 * 10**17

    owner.deploy(project.ForceSender, ledger.address, value=forced)

    assert ledger.balance == PRICE + forced
    assert ledger.creditOf(patient) == 0
    assert ledger.getPurchase(purchase_id).amountGwei * 10**9 == PRICE
    # The flow still settles and pays out exactly what is owed; the forced ETH stays, owed to nobody.
    ledger.confirmDelivery(purchase_id, sender=gateway)
    ledger.withdraw(sender=patient)
    assert ledger.creditOf(patient) == 0
    assert ledger.balance == forced


def test_forced_eth__into_empty_ledger__withdraw_still_needs_credit(project, ledger, owner, stranger):
    owner.deploy(project.ForceSender, ledger.address, value=10**18)
    with ape.reverts(ledger.PurchaseEscrowNothingToWithdraw, account=stranger.address):
        ledger.withdraw(sender=stranger)


def test_plain_transfer__rejected(ledger, stranger):
    with ape.reverts():
        stranger.transfer(ledger, 10**15)
    assert ledger.balance == 0


# a price change queued in front of a purchase, in the same block


def test_purchase__price_raised_in_same_block__reverts_not_pays(ledger, patient, requester, create_grant, chain):
    request_id = create_grant()
    ledger.setPrice(HEART_RATE_WINDOWS, PRICE, sender=patient)
    balance_before = ledger.balance
    base_fee = chain.provider.base_fee
    with manual_mining(chain) as web3:
        raise_price, buy = send_front_run_pair(web3, ledger, patient, requester, request_id, base_fee)
        chain.mine()

    raise_receipt, buy_receipt = web3.eth.get_transaction_receipt(raise_price), web3.eth.get_transaction_receipt(buy)
    assert raise_receipt.blockNumber == buy_receipt.blockNumber
    assert raise_receipt.transactionIndex < buy_receipt.transactionIndex
    assert (raise_receipt.status, buy_receipt.status) == (1, 0)
    trace = chain.provider.make_request("debug_traceTransaction", [buy.to_0x_hex(), {"tracer": "callTracer"}])
    assert bytes.fromhex(trace["output"].removeprefix("0x")) == error_data(
        "PurchaseEscrowWrongPrice(uint256,uint256)", ["uint256", "uint256"], [2 * PRICE, PRICE]
    )
    assert ledger.getPurchase(request_id << 8 | HEART_RATE_WINDOWS).status == NONE
    assert ledger.balance == balance_before
    assert ledger.priceOf(patient, HEART_RATE_WINDOWS) == 2 * PRICE


def send_front_run_pair(web3, ledger, patient, requester, request_id, base_fee):
    # The price change pays a higher tip, so it is ordered first in the block: a front-run.
    raise_price = web3.eth.send_transaction(
        {
            "from": patient.address,
            "to": ledger.address,
            "data": ledger.setPrice.encode_input(HEART_RATE_WINDOWS, 2 * PRICE),
            "gas": 100_000,
            "maxFeePerGas": base_fee * 2 + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    buy = web3.eth.send_transaction(
        {
            "from": requester.address,
            "to": ledger.address,
            "data": ledger.purchase.encode_input(request_id, HEART_RATE_WINDOWS, PRICE),
            "value": PRICE,
            "gas": 200_000,
            "maxFeePerGas": base_fee * 2 + 1,
            "maxPriorityFeePerGas": 1,
        }
    )
    return raise_price, buy
