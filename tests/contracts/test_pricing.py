"""Prices per patient and data class."""

import ape
import pytest
from conftest import EXPORTS, HEART_RATE_WINDOWS, PRICE

GWEI = 10**9
MAX_PRICE = (2**48 - 1) * GWEI  # the escrow keeps uint48 gwei beside the buyer


def test_set_price__sets_own_price_and_emits(ledger, patient, other_patient):
    tx = ledger.setPrice(EXPORTS, PRICE, sender=patient)

    assert tx.decode_logs(ledger.PriceSet) == [ledger.PriceSet(patient=patient.address, dataClass=EXPORTS, price=PRICE)]
    assert ledger.priceOf(patient, EXPORTS) == PRICE
    assert ledger.priceOf(patient, HEART_RATE_WINDOWS) == 0
    assert ledger.priceOf(other_patient, EXPORTS) == 0


def test_set_price__zero__withdraws_from_sale(ledger, patient):
    ledger.setPrice(EXPORTS, PRICE, sender=patient)
    ledger.setPrice(EXPORTS, 0, sender=patient)
    assert ledger.priceOf(patient, EXPORTS) == 0


def test_set_price__max_whole_gwei__accepted(ledger, patient):
    ledger.setPrice(EXPORTS, MAX_PRICE, sender=patient)
    assert ledger.priceOf(patient, EXPORTS) == MAX_PRICE


def test_set_price__above_max__reverts(ledger, patient):
    with ape.reverts(ledger.PriceBookPriceTooHigh, price=MAX_PRICE + GWEI, max=MAX_PRICE):
        ledger.setPrice(EXPORTS, MAX_PRICE + GWEI, sender=patient)


@pytest.mark.parametrize("price", [1, GWEI + 1, PRICE - 1])
def test_set_price__not_whole_gwei__reverts(ledger, patient, price):
    with ape.reverts(ledger.PriceBookNotWholeGwei, price=price):
        ledger.setPrice(EXPORTS, price, sender=patient)


@pytest.mark.parametrize("data_class", [3, 255])
def test_set_price__invalid_data_class__reverts(ledger, patient, data_class):
    with ape.reverts(ledger.PriceBookInvalidDataClass, dataClass=data_class):
        ledger.setPrice(data_class, PRICE, sender=patient)


def test_set_price__while_paused__works(ledger, owner, patient):
    ledger.pause(sender=owner)
    ledger.setPrice(EXPORTS, PRICE, sender=patient)
    assert ledger.priceOf(patient, EXPORTS) == PRICE
