"""The gateway's read paths on the Firestore backend (the official emulator on 127.0.0.1): an owner
reads a window, a buyer reads a sold record in plaintext and as an ECIES-wrapped key."""

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from services.gateway import ecies
from services.gateway.app import create_app
from services.gateway.wiring import chain_identity
from services.ingest.device_identity import peer_id_for
from services.records import RecordsSettings, open_store
from services.records.firestore_emulator import start_emulator
from services.records.window_payload import sample_payload
from tests.gateway.conftest import Market, bearer, sign_in


@pytest.fixture(scope="module")
def firestore_store(ledger):
    emulator = start_emulator()
    try:
        store = open_store(RecordsSettings(
            backend="firestore", firestore_emulator_host=emulator.host,
            firestore_project="gateway-test", master_key_file=None, create_master_key=False,
            master_key=SecretStr(base64.b64encode(os.urandom(32)).decode())),
            chain_identity(ledger))
        yield store
        store.close()
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def firestore_client(settings, ledger, firestore_store):
    return create_app(settings, ledger=ledger, store=firestore_store).test_client()


def test_firestore__owner_reads_window(firestore_client, firestore_store, chain):
    patient = chain.fund()
    device_id = peer_id_for(os.urandom(32))
    firestore_store.register_device(device_id, patient.address.lower(), os.urandom(32))
    payload = sample_payload(0, device_id=device_id, window_start_ms=1_700_000_000_000)
    ref = firestore_store.put_window(patient.address.lower(), device_id, 1_700_000_000_000,
                                     payload)
    token = sign_in(firestore_client, patient)
    response = firestore_client.get(f"/patients/{patient.address}/windows/{ref.record_id}",
                                    headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["payload"] == payload


def test_firestore__buyer_reads_plaintext_and_wrapped_key(firestore_client, firestore_store,
                                                          chain):
    sale = Market(chain, firestore_store).sale()
    token = sign_in(firestore_client, sale.buyer)
    plain = firestore_client.get(f"/records/{sale.record_id}",
                                 query_string={"purchase_id": sale.purchase_id},
                                 headers=bearer(token))
    assert plain.status_code == 200, plain.get_json()
    assert plain.data == sale.plaintext

    body = firestore_client.post(f"/records/{sale.record_id}/key", headers=bearer(token), json={
        "purchase_id": sale.purchase_id,
        "public_key": "0x" + sale.buyer._key_obj.public_key.to_bytes().hex()}).get_json()
    key = ecies.unwrap(ecies.private_key_from_eth(sale.buyer.key),
                       bytes.fromhex(body["wrapped_key"][2:]), bytes.fromhex(sale.record_id[2:]))
    sealed = firestore_client.get(f"/records/{sale.record_id}/ciphertext",
                                  query_string={"purchase_id": sale.purchase_id},
                                  headers=bearer(token)).data
    associated = bytes.fromhex(body["record_associated_data"][2:])
    assert AESGCM(key).decrypt(sealed[:12], sealed[12:], associated) == sale.plaintext
