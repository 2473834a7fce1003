"""Prices per patient and data class."""

import ape
import pytest
from conftest import EXPORTS, HEART_RATE_WINDOWS, PRICE

UINT96_MAX = 2**96 - 1


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


def test_set_price__uint96_max__accepted(ledger, patient):
    ledger.setPrice(EXPORTS, UINT96_MAX, sender=patient)
    assert ledger.priceOf(patient, EXPORTS) == UINT96_MAX


def test_set_price__above_uint96__reverts(ledger, patient):
    with ape.reverts(ledger.PriceBookPriceTooHigh, price=UINT96_MAX + 1, max=UINT96_MAX):
        ledger.setPrice(EXPORTS, UINT96_MAX + 1, sender=patient)


@pytest.mark.parametrize("data_class", [3, 255])
def test_set_price__invalid_data_class__reverts(ledger, patient, data_class):
    with ape.reverts(ledger.PriceBookInvalidDataClass, dataClass=data_class):
        ledger.setPrice(data_class, PRICE, sender=patient)


def test_set_price__while_paused__works(ledger, owner, patient):
    ledger.pause(sender=owner)
    ledger.setPrice(EXPORTS, PRICE, sender=patient)
    assert ledger.priceOf(patient, EXPORTS) == PRICE
