"""Issue 14 finding 1 at the gateway: a registry entry that names one patient never releases another
patient's bundle. A copier who re-registers a victim's pending record under their own name gets an id of
their own, which holds nothing; and a bundle whose stored owner is not the patient the chain names is
refused with a clear error and a log line (real anvil, real store, real Flask app)."""

from services.chain.record_registry import (
    RecordRegistration,
    add_record_call,
    location_digest,
    new_salt,
    record_id,
)
from tests.gateway.conftest import EXPORTS, PRICE, bearer, sign_in


def _buy_and_log(chain, seller, buyer, record: str) -> int:
    """seller approves buyer for EXPORTS, buyer pays and logs access to `record`; the purchase id."""
    ledger, events = chain.contract.functions, chain.contract.events
    chain.send(seller, ledger.setPrice(EXPORTS, PRICE))
    now = chain.now()
    receipt = chain.send(buyer, ledger.requestConsent(seller.address, b"HRESCH".ljust(32, b"\0"),
                                                      1 << EXPORTS, now - 60, now + 3600, b"\x01" * 32))
    request_id = events.ConsentRequested().process_receipt(receipt)[0]["args"]["requestId"]
    chain.send(seller, ledger.approve(request_id))
    receipt = chain.send(buyer, ledger.purchase(request_id, EXPORTS, PRICE), value=PRICE)
    purchase_id = events.PurchasePaid().process_receipt(receipt)[0]["args"]["purchaseId"]
    chain.send(buyer, ledger.logAccess(bytes.fromhex(record[2:]), purchase_id))
    return purchase_id


def _read(client, record: str, purchase_id: int, token: str):
    return client.get(f"/records/{record}", query_string={"purchase_id": purchase_id}, headers=bearer(token))


def test_read__copied_registration_under_the_copiers_name__serves_nothing_of_the_victim(client, chain, store):
    victim, copier, copiers_buyer = chain.fund(), chain.fund(), chain.fund()
    plaintext = b'{"export": "victim windows", "rows": 7}'
    salt = new_salt()
    victims_id = "0x" + record_id(victim.address, salt).hex()
    bundle = store.put_bundle(victim.address.lower(), victims_id, EXPORTS, plaintext)
    digests = (bundle.ciphertext_sha256, location_digest(bundle.pointer), bundle.ciphertext_sha256)
    # The copier saw the pending registration and sends it first with themself as the patient.
    chain.send(copier, add_record_call(chain.contract, RecordRegistration(copier.address, salt, *digests, EXPORTS)))
    chain.send(victim, add_record_call(chain.contract, RecordRegistration(victim.address, salt, *digests, EXPORTS)))
    copiers_id = "0x" + record_id(copier.address, salt).hex()
    assert chain.contract.functions.getRecord(bytes.fromhex(victims_id[2:])).call()[0] == victim.address
    purchase_id = _buy_and_log(chain, copier, copiers_buyer, copiers_id)
    chain.mine(2)
    token = sign_in(client, copiers_buyer)

    own = _read(client, copiers_id, purchase_id, token)
    victims = _read(client, victims_id, purchase_id, token)

    assert own.status_code == 404 and "store does not hold it" in own.get_json()["message"]
    assert victims.status_code == 403 and victims.get_json()["error"] == "purchase_does_not_cover_record"
    assert plaintext not in own.data + victims.data


def test_read__stored_owner_is_not_the_registered_patient__refused_with_a_log_line(client, chain, market, gateway_log):
    patient, someone_else, buyer = chain.fund(), chain.fund(), chain.fund()
    plaintext = b'{"export": "someone else", "rows": 3}'
    record = market.register(patient, EXPORTS, plaintext, owner=someone_else.address)
    purchase_id = _buy_and_log(chain, patient, buyer, record)
    chain.mine(2)
    token = sign_in(client, buyer)

    response = _read(client, record, purchase_id, token)

    assert response.status_code == 502
    assert response.get_json()["error"] == "owner_mismatch"
    assert "another patient" in response.get_json()["message"]
    assert plaintext not in response.data
    assert [r for r in gateway_log if r.getMessage() == "bundle_owner_mismatch"]
    assert chain.contract.functions.getPurchase(purchase_id).call()[3] == 1  # still Paid: nothing delivered


def test_read__purchase_consent_revoked__refused_although_a_newer_grant_is_live(client, chain, market):
    """The buyer's read checks the purchase's own consent, not the pair's: once its request is revoked,
    a later grant of the same class to the same buyer (isAllowed true again) does not revive it."""
    sale = market.sale()
    ledger = chain.contract.functions
    chain.send(sale.patient, ledger.revoke(sale.request_id))
    now = chain.now()
    receipt = chain.send(sale.buyer, ledger.requestConsent(sale.patient.address, b"HRESCH".ljust(32, b"\0"),
                                                           1 << EXPORTS, now - 60, now + 3600, b"\x02" * 32))
    newer = chain.contract.events.ConsentRequested().process_receipt(receipt)[0]["args"]["requestId"]
    chain.send(sale.patient, ledger.approve(newer))
    assert ledger.isAllowed(sale.patient.address, sale.buyer.address, EXPORTS).call()
    chain.mine(2)
    token = sign_in(client, sale.buyer)

    response = _read(client, sale.record_id, sale.purchase_id, token)

    assert response.status_code == 403 and response.get_json()["error"] == "no_consent"
    assert "this purchase's consent" in response.get_json()["message"]
