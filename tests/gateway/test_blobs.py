"""Bundles whose ciphertext lives in the content-addressed blob store (pointer ipfs://<CIDv1>,
the embedded local-directory backend): served after the registry check; a modified blob is
reported as tampering and nothing is served."""

import pytest

from services.blobs.local_dir import LocalDirBlobStore
from services.gateway.app import create_app
from tests.gateway.conftest import Market, age_past_recheck, bearer, sign_in


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    return LocalDirBlobStore(tmp_path_factory.mktemp("blobs"))


@pytest.fixture(scope="module")
def blob_client(settings, ledger, store, blobs):
    return create_app(settings, ledger=ledger, store=store, blobs=blobs).test_client()


def test_blob_bundle__served_then_tampered_blob_refused(blob_client, chain, store, blobs):
    sale = Market(chain, store, blobs).sale()
    pointer = store.bundle_meta(sale.record_id).pointer
    assert pointer.startswith("ipfs://bafk")
    token = sign_in(blob_client, sale.buyer)
    url = f"/records/{sale.record_id}"
    query = {"purchase_id": sale.purchase_id}

    served = blob_client.get(url, query_string=query, headers=bearer(token))
    assert served.status_code == 200 and served.data == sale.plaintext

    path = blobs._path(pointer.removeprefix("ipfs://"))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))

    # Within LABEL_PARTS_RECHECK_S the pieces cut from the authenticated bytes are served; the
    # first read after it fetches the blob again and finds the tampering.
    within = blob_client.get(url, query_string=query, headers=bearer(token))
    assert within.status_code == 200 and within.data == sale.plaintext
    age_past_recheck(blob_client)
    refused = blob_client.get(url, query_string=query, headers=bearer(token))
    assert refused.status_code == 502
    assert refused.get_json()["error"] == "tampering_detected"
    assert sale.plaintext not in refused.data
