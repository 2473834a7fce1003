"""Both blob stores: the local directory (real files) and IPFS through ipfshttpclient against a
loopback HTTP server that answers as Kubo's RPC does (no Kubo binary can run here)."""

import pytest
from fake_kubo import FakeKubo

from services.blobs import BlobNotFound, BlobsSettings, BlobTampered, open_blob_store
from services.blobs.cid import CHUNK_SIZE, compute_cid
from services.blobs.ipfs import IpfsBlobStore
from services.blobs.local_dir import LocalDirBlobStore


@pytest.fixture(params=["local", "ipfs"])
def blobs(request, tmp_path):
    if request.param == "local":
        yield LocalDirBlobStore(tmp_path / "blobs")
        return
    with FakeKubo() as kubo:
        store = IpfsBlobStore(kubo.multiaddr, timeout_s=10)
        store.kubo = kubo
        yield store
        store.close()


@pytest.mark.parametrize("size", [0, 11, 300 * 1024, CHUNK_SIZE + 5])
def test_put_get__round_trip_and_cid(blobs, size):
    data = bytes(i % 251 for i in range(size))
    cid = blobs.put(data)
    assert cid == compute_cid(data)
    assert blobs.get(cid) == data and blobs.has(cid)
    assert blobs.put(data) == cid  # idempotent


def test_get__unknown__not_found(blobs):
    cid = compute_cid(b"never stored")
    with pytest.raises(BlobNotFound):
        blobs.get(cid)
    assert not blobs.has(cid)


def test_local__bytes_changed_on_disk__tampered(tmp_path):
    blobs = LocalDirBlobStore(tmp_path / "blobs")
    cid = blobs.put(b"ciphertext")
    blobs._path(cid).write_bytes(b"ciphertexT")
    with pytest.raises(BlobTampered):
        blobs.get(cid)


def test_ipfs__node_returns_other_bytes__tampered():
    with FakeKubo() as kubo:
        blobs = IpfsBlobStore(kubo.multiaddr, timeout_s=10)
        cid = blobs.put(b"ciphertext")
        kubo.corrupt_next_cat = True
        with pytest.raises(BlobTampered):
            blobs.get(cid)
        blobs.close()


def test_ipfs__add_sends_the_profile_options():
    with FakeKubo() as kubo:
        blobs = IpfsBlobStore(kubo.multiaddr, timeout_s=10)
        blobs.put(b"x")
        path, query = kubo.requests[0]
        assert path == "/api/v0/add"
        assert (query["cid-version"], query["raw-leaves"], query["chunker"]) == (
            "1",
            "true",
            "size-1048576",
        )
        blobs.close()


def test_open_blob_store__settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PULSELEDGER_BLOBS_LOCAL_DIR", str(tmp_path / "b"))
    store = open_blob_store()
    assert isinstance(store, LocalDirBlobStore) and store.directory == tmp_path / "b"
    with FakeKubo() as kubo:
        ipfs = open_blob_store(BlobsSettings(backend="ipfs", ipfs_api=kubo.multiaddr))
        assert ipfs.get(ipfs.put(b"abc")) == b"abc"
        ipfs.close()


def test_bundle_through_ipfs__registry_pointer_and_hash_round_trip(tmp_path):
    """The path a sellable record takes: encrypt, add to IPFS, register pointer + hash, read back."""
    import os

    from services.records import ChainIdentity, TamperDetected
    from services.records.keystore import Keyring
    from services.records.sqlite_store import SqliteRecordStore

    store = SqliteRecordStore(tmp_path / "r", ChainIdentity(1, "0x01"), Keyring(os.urandom(32)))
    bundle, owner = "0x" + "ee" * 32, "0x" + "a1" * 20
    with FakeKubo() as kubo:
        blobs = IpfsBlobStore(kubo.multiaddr, timeout_s=10)
        rec = store.put_bundle(owner, bundle, 2, b"a week of windows", blobs=blobs)
        assert rec.pointer == "ipfs://" + compute_cid(next(iter(kubo.blocks.values())))
        assert store.get_bundle(bundle, expected_hash=rec.ciphertext_sha256, blobs=blobs) == (
            b"a week of windows"
        )
        kubo.corrupt_next_cat = True
        with pytest.raises(TamperDetected):
            store.get_bundle(bundle, expected_hash=rec.ciphertext_sha256, blobs=blobs)
        blobs.close()
    store.close()


def test_local__put__blob_and_its_new_folder_named_on_disk(tmp_path, monkeypatch):
    """A blob reported written survives a crash: its file synced before the rename (see
    tests/runtime/test_durable_files.py), then its fan-out folder's names and that folder's own."""
    from services.runtime import durable_files

    synced = []
    real = durable_files.sync_folder
    monkeypatch.setattr(durable_files, "sync_folder", lambda f: synced.append(f) or real(f))
    store = LocalDirBlobStore(tmp_path / "blobs")
    cid = store.put(b"bundle")
    fan_out = tmp_path / "blobs" / cid[-2:]
    assert synced == [tmp_path / "blobs", fan_out]
    assert store.get(cid) == b"bundle"
