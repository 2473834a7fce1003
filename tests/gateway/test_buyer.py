"""Buyers on a real anvil: served only with live consent, payment and a confirmed AccessLogged; the
first delivery confirms on-chain and releases the escrow; erasure → 410; tampering → refused."""

import logging

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.chain.record_registry import update_record_call
from services.gateway import ecies
from services.gateway.observability import LOGGER_NAME
from services.records.crypto import sha256
from tests.gateway.conftest import EXPORTS, PRICE, bearer, flip_stored_ciphertext, sign_in

PAID, DELIVERED = 1, 2


def _read(client, sale, token, purchase_id=None):
    return client.get(f"/records/{sale.record_id}",
                      query_string={"purchase_id": purchase_id or sale.purchase_id},
                      headers=bearer(token))


def test_read__all_conditions_met__plaintext_and_escrow_released(client, market, chain):
    sale = market.sale()
    token = sign_in(client, sale.buyer)
    ledger = chain.contract.functions
    assert ledger.getPurchase(sale.purchase_id).call()[3] == PAID

    response = _read(client, sale, token)

    assert response.status_code == 200, response.get_json()
    assert response.data == sale.plaintext
    tx = response.headers["X-PulseLedger-Delivery-Tx"]
    receipt = chain.w3.eth.get_transaction_receipt(tx)
    confirmed = chain.contract.events.DeliveryConfirmed().process_receipt(receipt)
    assert [e["args"]["purchaseId"] for e in confirmed] == [sale.purchase_id]
    assert ledger.getPurchase(sale.purchase_id).call()[3] == DELIVERED
    assert ledger.creditOf(sale.patient.address).call() == PRICE

    again = _read(client, sale, token)
    assert again.status_code == 200 and again.data == sale.plaintext
    assert "X-PulseLedger-Delivery-Tx" not in again.headers  # confirmed once only


def test_read__access_logged_but_not_confirmed_enough__refused_until_mined(client, market, chain):
    sale = market.sale(confirm_blocks=0)
    token = sign_in(client, sale.buyer)
    refused = _read(client, sale, token)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "access_not_logged"
    chain.mine(1)
    assert _read(client, sale, token).status_code == 200


def test_read__consent_not_approved__refused(client, market):
    sale = market.sale(approve=False, pay=False)
    token = sign_in(client, sale.buyer)
    response = _read(client, sale, token, purchase_id=sale.request_id << 8 | EXPORTS)
    assert response.status_code == 403
    assert response.get_json()["error"] == "no_consent"


def test_read__not_paid__refused(client, market):
    sale = market.sale(pay=False)
    token = sign_in(client, sale.buyer)
    response = _read(client, sale, token, purchase_id=sale.request_id << 8 | EXPORTS)
    assert response.status_code == 403
    assert response.get_json()["error"] == "not_paid"


def test_read__access_not_logged__refused(client, market):
    sale = market.sale(log_access=False)
    token = sign_in(client, sale.buyer)
    response = _read(client, sale, token)
    assert response.status_code == 403
    assert response.get_json()["error"] == "access_not_logged"
    assert "logAccess" in response.get_json()["message"]


def test_read__after_revocation__refused(client, market, chain):
    sale = market.sale()
    chain.send(sale.patient, chain.contract.functions.revoke(sale.request_id))
    token = sign_in(client, sale.buyer)
    response = _read(client, sale, token)
    assert response.status_code == 403
    assert response.get_json()["error"] == "no_consent"


def test_read__another_accounts_purchase__refused(client, market, chain):
    sale = market.sale()
    token = sign_in(client, chain.fund())
    response = _read(client, sale, token)
    assert response.status_code == 403
    assert response.get_json()["error"] == "not_your_purchase"


def test_read__no_session__401(client, market):
    sale = market.sale(pay=False, log_access=False, confirm_blocks=0)
    response = client.get(f"/records/{sale.record_id}", query_string={"purchase_id": 1})
    assert response.status_code == 401
    assert "sign in" in response.get_json()["message"]


def test_read__unknown_or_malformed_record__404_or_400(client, chain):
    token = sign_in(client, chain.fund())
    unknown = client.get("/records/0x" + "ab" * 32, query_string={"purchase_id": 257},
                         headers=bearer(token))
    assert unknown.status_code == 404
    malformed = client.get("/records/0x1234", query_string={"purchase_id": 257},
                           headers=bearer(token))
    assert malformed.status_code == 400
    no_purchase = client.get("/records/0x" + "ab" * 32, headers=bearer(token))
    assert no_purchase.status_code == 400


def test_read__after_erasure__410_but_buyer_keeps_what_they_read(client, market, store):
    sale = market.sale()
    token = sign_in(client, sale.buyer)
    first = _read(client, sale, token)
    assert first.status_code == 200
    kept = first.data

    store.erase(sale.record_id)

    gone = _read(client, sale, token)
    assert gone.status_code == 410
    assert gone.get_json()["error"] == "erased"
    assert kept == sale.plaintext  # erasure cannot reach copies already delivered


def test_read__key_deleted_not_erased__502_key_missing_not_410(client, market, store):
    sale = market.sale()
    token = sign_in(client, sale.buyer)
    store.keys.destroy([store.tables.get("bundles", sale.record_id)["key_ref"]])
    response = _read(client, sale, token)
    assert response.status_code == 502 and response.get_json()["error"] == "key_missing"
    assert sale.plaintext not in response.data


def test_read__stored_ciphertext_flipped__tampering_reported_nothing_served(client, market, store):
    sale = market.sale()
    token = sign_in(client, sale.buyer)
    flip_stored_ciphertext(store, sale.record_id)

    response = _read(client, sale, token)

    assert response.status_code == 502
    body = response.get_json()
    assert body["error"] == "tampering_detected" and "tampering" in body["message"]
    assert sale.plaintext not in response.data


def test_read__registry_hash_differs_from_store__tampering(client, market, chain):
    sale = market.sale()
    stored = market.store.bundle_meta(sale.record_id)
    chain.send(sale.patient, update_record_call(
        chain.contract, bytes.fromhex(sale.record_id[2:]), sha256(b"something else"), stored.pointer,
        sha256(b"something else")))
    chain.mine(1)
    token = sign_in(client, sale.buyer)
    response = _read(client, sale, token)
    assert response.status_code == 502
    assert response.get_json()["error"] == "tampering_detected"


def test_wrapped_key__buyer_unwraps_and_decrypts_the_ciphertext(client, market, chain):
    sale = market.sale()
    token = sign_in(client, sale.buyer)
    public_key = "0x" + sale.buyer._key_obj.public_key.to_bytes().hex()

    response = client.post(f"/records/{sale.record_id}/key", headers=bearer(token),
                           json={"purchase_id": sale.purchase_id, "public_key": public_key})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["format"] == "ecies-secp256k1-hkdf-sha256-aes256gcm-v1"
    assert chain.contract.functions.getPurchase(sale.purchase_id).call()[3] == DELIVERED

    # The buyer's side: unwrap with their own secp256k1 key, fetch the sealed record, decrypt.
    key = ecies.unwrap(ecies.private_key_from_eth(sale.buyer.key),
                       bytes.fromhex(body["wrapped_key"][2:]),
                       context=bytes.fromhex(sale.record_id[2:]))
    sealed = client.get(f"/records/{sale.record_id}/ciphertext",
                        query_string={"purchase_id": sale.purchase_id}, headers=bearer(token))
    assert sealed.status_code == 200
    assert sha256(sealed.data).hex() == body["ciphertext_sha256"][2:]
    associated = bytes.fromhex(sealed.headers["X-PulseLedger-Associated-Data"][2:])
    assert associated.hex() == body["record_associated_data"][2:]
    plaintext = AESGCM(key).decrypt(sealed.data[:12], sealed.data[12:], associated)
    assert plaintext == sale.plaintext


def test_wrapped_key__someone_elses_public_key__refused(client, market, chain):
    sale = market.sale()
    token = sign_in(client, sale.buyer)
    other = chain.fund()
    response = client.post(f"/records/{sale.record_id}/key", headers=bearer(token), json={
        "purchase_id": sale.purchase_id,
        "public_key": "0x" + other._key_obj.public_key.to_bytes().hex()})
    assert response.status_code == 403
    assert response.get_json()["error"] == "foreign_key"
    bad_point = client.post(f"/records/{sale.record_id}/key", headers=bearer(token),
                            json={"purchase_id": sale.purchase_id, "public_key": "0x04" + "00" * 64})
    assert bad_point.status_code == 400




def test_read__record_retired_on_chain__410_retired(client, market, chain):
    sale = market.sale()
    chain.send(sale.patient, chain.contract.functions.retireRecord(
        bytes.fromhex(sale.record_id[2:])))
    response = _read(client, sale, sign_in(client, sale.buyer))
    assert response.status_code == 410
    assert response.get_json()["error"] == "retired"


def test_read__purchase_for_another_patients_record__refused(client, market):
    bought, other = market.sale(), market.sale()
    token = sign_in(client, bought.buyer)
    response = client.get(f"/records/{other.record_id}",
                          query_string={"purchase_id": bought.purchase_id}, headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json()["error"] == "purchase_does_not_cover_record"


def test_read__delivery_window_closed__nothing_served_buyer_can_reclaim(client, market, chain):
    """confirmDelivery reverts after deliverBy: the gateway hands nothing over (the buyer would
    otherwise get the data and their money back)."""
    sale = market.sale(valid_for_s=10 * 24 * 3600)
    chain.w3.provider.make_request("evm_increaseTime", [3601])  # delivery window is 3600 s
    chain.mine(1)
    response = _read(client, sale, sign_in(client, sale.buyer))
    assert response.status_code == 409
    assert response.get_json()["error"] == "delivery_not_confirmable"
    assert "PurchaseEscrowDeliveryWindowClosed" in response.get_json()["message"]
    assert sale.plaintext not in response.data
    chain.send(sale.buyer, chain.contract.functions.reclaim(sale.purchase_id))


def test_read__one_log_line_per_read_naming_the_delivery_without_health_values(client, market):
    """A delivered read is one JSON line (route, status, duration and the delivery's record and
    buyer), not a request line plus a delivery line; a refused read is the plain request line."""
    sale = market.sale()
    token = sign_in(client, sale.buyer)
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append((record.getMessage(), dict(record.fields)))

    logger = logging.getLogger(LOGGER_NAME)
    handler = Collect()
    logger.addHandler(handler)
    try:
        assert _read(client, sale, token).status_code == 200
        assert _read(client, sale, token, purchase_id=sale.purchase_id + 1).status_code != 200
    finally:
        logger.removeHandler(handler)

    reads = [(event, fields) for event, fields in lines if fields.get("route") == "/records/<record_id>"]
    assert [event for event, _ in reads] == ["record_delivered", "request"]
    delivered = reads[0][1]
    assert delivered["status"] == 200 and delivered["format"] == "plaintext"
    assert delivered["record"] == sale.record_id and delivered["buyer"] == sale.buyer.address
    assert "record" not in reads[1][1]
    assert all(sale.plaintext[:40].decode(errors="ignore") not in str(fields) for _, fields in lines)
