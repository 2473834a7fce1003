"""Settings and the factory: env prefix PULSELEDGER_RECORDS_, master key from env or file."""

import base64
import os
import stat

import pytest

from services.records import InvalidInput, RecordsSettings, open_store
from services.records.firestore_store import FirestoreRecordStore
from services.records.sqlite_store import SqliteRecordStore


def test_env__sqlite_store_with_chain_identity(tmp_path, monkeypatch):
    key = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("PULSELEDGER_RECORDS_SQLITE_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("PULSELEDGER_RECORDS_MASTER_KEY", key)
    monkeypatch.setenv("PULSELEDGER_RECORDS_CHAIN_ID", "1338")
    monkeypatch.setenv("PULSELEDGER_RECORDS_CONTRACTS", '{"PulseLedger": "0x' + "12" * 20 + '"}')
    with open_store() as store:
        assert isinstance(store, SqliteRecordStore)
        assert store.chain.chain_id == 1338 and store.namespace.startswith("c1338-")
        assert store.directory.parent == tmp_path / "r"


def test_master_key_file__created_0600_once_and_reused(tmp_path):
    path = tmp_path / "keys" / "master.key"
    settings = RecordsSettings(master_key_file=path)
    first = settings.load_master_key()
    assert len(first) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.load_master_key() == first


def test_master_key_file__another_process_made_it_first__its_key_is_used(tmp_path, monkeypatch):
    """Two services opening a new store at once: the one that loses the race to make the key
    file reads the winner's, never replaces it (the winner may have sealed records under it)."""
    from services.records import settings as records_settings

    path = tmp_path / "master.key"
    winner = os.urandom(32)
    real = records_settings.write_master_key_file

    def raced(target, key):
        real(target, winner)  # the other process, between our check and our write
        real(target, key)

    monkeypatch.setattr(records_settings, "write_master_key_file", raced)
    assert RecordsSettings(master_key_file=path).load_master_key() == winner
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key"]


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"short").decode()])
def test_master_key__malformed__clear_error(text):
    with pytest.raises(InvalidInput, match="master key"):
        RecordsSettings(master_key=text).load_master_key()


def test_master_key_file__missing_and_no_create__clear_error(tmp_path):
    settings = RecordsSettings(master_key_file=tmp_path / "absent", create_master_key=False)
    with pytest.raises(InvalidInput, match="does not exist"):
        settings.load_master_key()


def test_firestore_backend__from_settings(firestore_emulator, tmp_path):
    settings = RecordsSettings(
        backend="firestore",
        firestore_project="pulseledger-settings-test",
        firestore_emulator_host=firestore_emulator.host,
        master_key_file=tmp_path / "m.key",
    )
    with open_store(settings) as store:
        assert isinstance(store, FirestoreRecordStore)
        store.set_contacts("0x" + "a1" * 20, ["pat@example.org"])
        assert store.get_contacts("0x" + "a1" * 20) == ["pat@example.org"]


def test_firestore__keys_in_their_own_database(firestore_emulator, tmp_path):
    """PULSELEDGER_RECORDS_FIRESTORE_KEY_DATABASE: wrapped keys never sit beside ciphertexts."""
    from records_support import OWNER, fresh_chain, window_payload

    from services.records.firestore_store import make_client

    settings = RecordsSettings(
        backend="firestore",
        firestore_project="pulseledger-keydb-test",
        firestore_emulator_host=firestore_emulator.host,
        firestore_key_database="pulseledger-keys",
        master_key_file=tmp_path / "m.key",
    )
    chain = fresh_chain()
    with open_store(settings, chain) as store:
        ref = store.put_window(OWNER, "12D3KooWDevice", 0, window_payload())
        assert store.get_window(ref.record_id) == window_payload()
        key_ref = store.tables.get("windows", ref.record_id)["key_ref"]
    main = make_client("pulseledger-keydb-test", "(default)", firestore_emulator.host)
    keys = make_client("pulseledger-keydb-test", "pulseledger-keys", firestore_emulator.host)
    path = f"pulseledger_keys/{chain.namespace}/record_keys/{key_ref}"
    assert keys.document(path).get().exists
    assert not main.document(path).get().exists
    main.close()
    keys.close()
