"""The `pulseledger records` and `pulseledger blobs` commands, end to end on SQLite files."""

from click.testing import CliRunner
from records_support import DEVICE, OWNER, window_payload

from services.cli import main
from services.records import RecordErased, RecordsSettings, open_store


def test_records_cli__rotate_erase_backup_restore(tmp_path, monkeypatch):
    monkeypatch.setenv("PULSELEDGER_RECORDS_SQLITE_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("PULSELEDGER_RECORDS_MASTER_KEY_FILE", str(tmp_path / "old.key"))
    runner = CliRunner()
    assert (
        runner.invoke(main, ["records", "new-master-key", str(tmp_path / "old.key")]).exit_code == 0
    )
    with open_store() as store:
        a = store.put_window(OWNER, DEVICE, 0, window_payload(0))
        b = store.put_window(OWNER, DEVICE, 10_000, window_payload(1))

    result = runner.invoke(main, ["records", "new-master-key", str(tmp_path / "new.key")])
    assert result.exit_code == 0
    result = runner.invoke(
        main, ["records", "rotate-master-key", "--new-key-file", str(tmp_path / "new.key")]
    )
    assert result.exit_code == 0 and "re-wrapped 2 record keys" in result.output
    monkeypatch.setenv("PULSELEDGER_RECORDS_MASTER_KEY_FILE", str(tmp_path / "new.key"))

    result = runner.invoke(
        main, ["records", "backup", str(tmp_path / "bk"), "--keys-dest", str(tmp_path / "bk-keys")]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["records", "erase", a.record_id]).exit_code == 0
    result = runner.invoke(
        main, ["records", "restore", str(tmp_path / "bk"), "--keys-src", str(tmp_path / "bk-keys")]
    )
    assert result.exit_code == 0 and "1 keys erased again" in result.output
    with open_store(RecordsSettings()) as store:
        assert store.get_window(b.record_id) == window_payload(1)
        try:
            store.get_window(a.record_id)
            raise AssertionError("erased record readable after restore")
        except RecordErased:
            pass
    assert "namespace" in runner.invoke(main, ["records", "info"]).output


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
