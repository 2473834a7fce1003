"""`pulseledger records …` acts on the store the services use, found as they find it, or stops with
a message — never a fresh namespace, never a new master key file, never a traceback. SQLite files
in a temporary working directory laid out as `pulseledger up` lays them out; Firestore on the
emulator. Each test runs in its own empty directory (no pulseledger.toml or .env of the repo)."""

import base64
import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from records_support import DEVICE, OWNER, fresh_chain, raw_window, window_payload

from services.chain.deployments import ContractDeployment, Deployments, write_deployments
from services.cli import main
from services.records import ChainIdentity, RecordErased, RecordsSettings, open_store, sqlite_tables


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    for name in list(os.environ):
        if name.startswith("PULSELEDGER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _deploy(path: Path, chain: ChainIdentity) -> Path:
    """A deployments file as `ape run deploy` writes it, for `chain`."""
    contracts = {name: ContractDeployment(address, "abi/PulseLedger.json", 1)
                 for name, address in chain.contracts.items()}
    return write_deployments(Deployments("ethereum:local:node", chain.chain_id,
                                         chain.genesis_hash, 1, "0x" + "11" * 20, contracts),
                             path)


def _services_store(state: Path, chain: ChainIdentity):
    """The store as `pulseledger up`'s services open it (embedded defaults under state/)."""
    return open_store(RecordsSettings(sqlite_dir=state / "records",
                                      master_key_file=state / "records-master.key"), chain)


def _deployed(state: Path, windows: int = 2):
    """A deployment (its file in state/) whose services stored `windows` windows:
    (chain, refs)."""
    chain = fresh_chain()
    _deploy(state / "deployments.json", chain)
    with _services_store(state, chain) as store:
        refs = [store.put_window(OWNER, DEVICE, 10_000 * i, window_payload(i))
                for i in range(windows)]
    return chain, refs


def _run(*args: str):
    return CliRunner().invoke(main, ["records", *args])


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def test_no_deployment_known__stops_and_creates_nothing(workdir):
    result = _run("info")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "deployments file" in result.output and "PULSELEDGER_CHAIN_DEPLOYMENTS" in result.output
    assert _files(workdir) == set()  # no namespace, no master key file
    assert _run("erase", "0x" + "00" * 32).exit_code == 1
    assert _files(workdir) == set()


def test_deployment_known_but_its_store_absent__stops_names_what_exists(workdir):
    state = workdir / ".pulseledger"
    other = fresh_chain()
    _services_store(state, other).close()  # the services ran for another chain
    _deploy(state / "deployments.json", fresh_chain())
    before = _files(workdir)
    result = _run("info")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no record store for chain namespace" in result.output
    assert other.namespace in result.output and "Nothing was created" in result.output
    assert _files(workdir) == before


def test_half_a_chain_identity_in_env__stops(workdir, monkeypatch):
    monkeypatch.setenv("PULSELEDGER_RECORDS_CHAIN_ID", "1338")
    result = _run("info")
    assert result.exit_code == 1
    assert "PULSELEDGER_RECORDS_CONTRACTS" in result.output
    assert "PULSELEDGER_RECORDS_GENESIS_HASH" in result.output


def test_two_deployments_files_disagree__stops(workdir, monkeypatch):
    chain = fresh_chain()
    monkeypatch.setenv("PULSELEDGER_CHAIN_DEPLOYMENTS", str(_deploy(workdir / "a.json", chain)))
    monkeypatch.setenv("PULSELEDGER_GATEWAY_DEPLOYMENTS", str(_deploy(workdir / "b.json", chain)))
    result = _run("info")
    assert result.exit_code == 1 and "disagree" in result.output


def test_info_erase__the_store_up_runs__found_from_its_state_dir(workdir, monkeypatch):
    state = workdir / "state"
    chain, (a, b) = _deployed(state)
    monkeypatch.setenv("PULSELEDGER_STACK_STATE_DIR", str(state))
    key_file = (state / "records-master.key").read_bytes()

    result = _run("info")
    assert result.exit_code == 0, result.output
    assert chain.namespace in result.output and "wrapped by it" in result.output
    assert "awaiting an anchored batch: 2" in result.output
    result = _run("erase", a.record_id)
    assert result.exit_code == 0 and chain.namespace in result.output
    assert (state / "records-master.key").read_bytes() == key_file
    with _services_store(state, chain) as store:
        with pytest.raises(RecordErased):
            store.get_window(a.record_id)
        assert store.get_window(b.record_id) == window_payload(1)

    unknown = _run("erase", "0x" + "00" * 32)
    assert unknown.exit_code == 1 and "no record" in unknown.output
    assert "Traceback" not in unknown.output


def test_erase__no_master_key_configured__still_erases_and_creates_none(workdir, monkeypatch):
    chain = fresh_chain()
    records = workdir / "records"
    with open_store(RecordsSettings(sqlite_dir=records, master_key=base64.b64encode(
            os.urandom(32)).decode()), chain) as store:
        ref = store.put_window(OWNER, DEVICE, 0, window_payload(0))
        key_ref = raw_window(store, ref.record_id)["key_ref"]
    monkeypatch.setenv("PULSELEDGER_RECORDS_SQLITE_DIR", str(records))
    monkeypatch.setenv("PULSELEDGER_CHAIN_DEPLOYMENTS", str(_deploy(workdir / "d.json", chain)))
    info = _run("info")
    assert info.exit_code == 0 and "master key: none configured" in info.output
    assert _run("erase", ref.record_id).exit_code == 0
    assert not (workdir / ".pulseledger").exists()  # no master key file was made
    with open_store(RecordsSettings(sqlite_dir=records), chain, create=False,
                    require_master_key=False) as store:
        assert store.keys.get(key_ref) is None


def test_info__wrong_master_key__says_so(workdir, monkeypatch):
    _deployed(workdir / ".pulseledger", 1)
    monkeypatch.setenv("PULSELEDGER_RECORDS_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
    result = _run("info")
    assert result.exit_code == 0 and "NOT the key of this store's records" in result.output


def test_rotate_backup_restore_recheck__on_the_services_store(workdir, monkeypatch):
    state = workdir / ".pulseledger"
    chain, (a, b) = _deployed(state)

    assert _run("new-master-key", str(workdir / "new.key")).exit_code == 0
    assert _run("new-master-key", str(workdir / "new.key")).exit_code == 1  # never overwritten
    result = _run("rotate-master-key", "--new-key-file", str(workdir / "new.key"))
    assert result.exit_code == 0 and "re-wrapped 2 record keys" in result.output, result.output
    monkeypatch.setenv("PULSELEDGER_RECORDS_MASTER_KEY_FILE", str(workdir / "new.key"))

    result = _run("backup", str(workdir / "bk"), "--keys-dest", str(workdir / "bk-keys"))
    assert result.exit_code == 0, result.output
    assert _run("erase", a.record_id).exit_code == 0
    result = _run("restore", str(workdir / "bk"), "--keys-src", str(workdir / "bk-keys"))
    assert result.exit_code == 0 and "1 keys erased again" in result.output, result.output
    settings = RecordsSettings(sqlite_dir=state / "records", master_key_file=workdir / "new.key")
    with open_store(settings, chain) as store:
        assert store.get_window(b.record_id) == window_payload(1)
        with pytest.raises(RecordErased):
            store.get_window(a.record_id)
        # a key lost behind the store's back, then restored: recheck unflags the window
        key_ref = raw_window(store, b.record_id)["key_ref"]
        lost = store.keys.get(key_ref)
        store.keys.destroy([key_ref])
        with pytest.raises(Exception, match="erasure journal"):
            store.get_window(b.record_id)
        store.keys.put_many([lost])
    result = _run("recheck")
    assert result.exit_code == 0 and "1 of 1 flagged windows are sound again" in result.output


def test_restore__backup_of_another_chain__refused(workdir):
    state = workdir / ".pulseledger"
    chain, other = fresh_chain(), fresh_chain()
    _deploy(state / "deployments.json", chain)
    with _services_store(workdir / "elsewhere", other) as store:
        store.backup(workdir / "bk")
    result = _run("restore", str(workdir / "bk"))
    assert result.exit_code == 1 and "another chain" in result.output


def test_firestore__no_namespace__stops_and_writes_nothing(workdir, monkeypatch,
                                                           firestore_emulator):
    from services.records.firestore_client import make_client

    project = "pulseledger-cli-" + os.urandom(4).hex()
    monkeypatch.setenv("PULSELEDGER_RECORDS_BACKEND", "firestore")
    monkeypatch.setenv("PULSELEDGER_RECORDS_FIRESTORE_PROJECT", project)
    monkeypatch.setenv("PULSELEDGER_RECORDS_FIRESTORE_EMULATOR_HOST", firestore_emulator.host)
    monkeypatch.setenv("PULSELEDGER_CHAIN_DEPLOYMENTS", str(_deploy(workdir / "d.json",
                                                                    fresh_chain())))
    result = _run("info")
    assert result.exit_code == 1 and "no record store" in result.output, result.output
    assert "no record store there at all" in result.output.lower()
    client = make_client(project, "(default)", firestore_emulator.host)
    assert list(client.collection("pulseledger_chains").stream()) == []
    client.close()
    assert _files(workdir) == {Path("d.json")}  # no master key file either


def test_blobs_cli__cid_put_get(tmp_path, monkeypatch):
    monkeypatch.setenv("PULSELEDGER_BLOBS_LOCAL_DIR", str(tmp_path / "blobs"))
    src = tmp_path / "hello.txt"
    src.write_bytes(b"hello world")
    runner = CliRunner()
    cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    assert runner.invoke(main, ["blobs", "cid", str(src)]).output.strip() == cid
    assert runner.invoke(main, ["blobs", "put", str(src)]).output.strip() == cid
    assert runner.invoke(main, ["blobs", "get", cid, str(tmp_path / "out")]).exit_code == 0
    assert (tmp_path / "out").read_bytes() == b"hello world"


def test_chain_env_and_deployments_file_disagree__stops(workdir, monkeypatch):
    chain, other = fresh_chain(), fresh_chain()
    monkeypatch.setenv("PULSELEDGER_CHAIN_DEPLOYMENTS", str(_deploy(workdir / "d.json", chain)))
    monkeypatch.setenv("PULSELEDGER_RECORDS_CHAIN_ID", str(other.chain_id))
    monkeypatch.setenv("PULSELEDGER_RECORDS_GENESIS_HASH", other.genesis_hash)
    monkeypatch.setenv("PULSELEDGER_RECORDS_CONTRACTS", json.dumps(other.contracts))
    result = _run("info")
    assert result.exit_code == 1 and "disagree" in result.output


def test_trim_changes__the_services_store_loses_changes_past_the_days_kept(workdir, monkeypatch):
    state = workdir / "state"
    chain = fresh_chain()
    _deploy(state / "deployments.json", chain)
    with monkeypatch.context() as patch, _services_store(state, chain) as store:  # 10 days ago
        patch.setattr(sqlite_tables, "now_ms", lambda: int(time.time() * 1000) - 10 * 86_400_000)
        store.put_window(OWNER, DEVICE, 0, window_payload(0))
    with _services_store(state, chain) as store:
        store.put_window(OWNER, DEVICE, 10_000, window_payload(1))
    monkeypatch.setenv("PULSELEDGER_STACK_STATE_DIR", str(state))

    assert _run("trim-changes", "--older-than-days", "0.5").exit_code == 2  # under a day
    result = _run("trim-changes", "--older-than-days", "7")
    assert result.exit_code == 0, result.output
    assert "trimmed 1 changes older than 7 days" in result.output
    with _services_store(state, chain) as store:
        assert len(store.changes_since(OWNER, None)) == 1
