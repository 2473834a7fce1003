"""Many new files made durable with one sync (services/runtime/durable_files.py): on a real
folder, with Linux's syncfs and with the per-file fallback."""

import ctypes
import errno

import pytest

from services.runtime import durable_files


def written(folder, count=3):
    paths = []
    for index in range(count):
        path = folder / f"m{index}.tmp"
        path.write_bytes(b"message %d" % index)
        paths.append(path)
    return paths


def test_sync_files__syncfs__one_call_for_the_whole_folder(tmp_path, monkeypatch):
    assert durable_files._syncfs is not None  # these machines are Linux
    calls = []
    real = durable_files._syncfs
    monkeypatch.setattr(durable_files, "_syncfs", lambda fd: calls.append(fd) or real(fd))
    durable_files.sync_files(written(tmp_path), tmp_path)
    assert len(calls) == 1


def test_sync_files__syncfs_fails__oserror_with_its_errno(tmp_path, monkeypatch):
    def failing(fd):
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(durable_files, "_syncfs", failing)
    with pytest.raises(OSError) as raised:
        durable_files.sync_files(written(tmp_path), tmp_path)
    assert raised.value.errno == errno.EIO


def test_sync_files__without_syncfs__each_file_synced(tmp_path, monkeypatch):
    monkeypatch.setattr(durable_files, "_syncfs", None)
    synced = []
    real_fsync = durable_files.os.fsync
    monkeypatch.setattr(durable_files.os, "fsync",
                        lambda fd: synced.append(durable_files.os.readlink(f"/proc/self/fd/{fd}"))
                        or real_fsync(fd))
    paths = written(tmp_path)
    durable_files.sync_files(paths, tmp_path)
    assert sorted(synced) == sorted(str(p) for p in paths)


def test_sync_folder__missing_folder__oserror(tmp_path):
    with pytest.raises(OSError):
        durable_files.sync_folder(tmp_path / "gone")


def test_write_atomically__new_file__content_mode_and_no_temporary_left(tmp_path):
    target = tmp_path / "keys" / "seed"
    durable_files.write_atomically(target, b"secret", 0o600)
    assert target.read_bytes() == b"secret"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["seed"]


def test_write_atomically__file_synced_before_the_rename_names_after(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    events = []
    real_fsync, real_replace = durable_files.os.fsync, durable_files.os.replace
    monkeypatch.setattr(durable_files.os, "fsync", lambda fd: events.append(
        ("fsync", durable_files.os.readlink(f"/proc/self/fd/{fd}"))) or real_fsync(fd))
    monkeypatch.setattr(durable_files.os, "replace", lambda a, b: events.append(
        ("replace", str(b))) or real_replace(a, b))
    durable_files.write_atomically(target, b"new")
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "replace", "fsync"]
    assert events[0][1].endswith(".tmp") and events[0][1] != str(target)  # the data, unnamed
    assert events[2][1] == str(tmp_path)  # then the folder's names
    assert target.read_bytes() == b"new"


def test_write_atomically__write_fails__old_content_kept_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "revocations.json"
    target.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durable_files.os, "fsync", full_disk)
    with pytest.raises(OSError):
        durable_files.write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["revocations.json"]


def test_make_folder__each_new_folder_named_on_disk(tmp_path, monkeypatch):
    synced = []
    real = durable_files.sync_folder
    monkeypatch.setattr(durable_files, "sync_folder", lambda f: synced.append(f) or real(f))
    durable_files.make_folder(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    assert synced == [tmp_path, tmp_path / "a"]  # the parent of each folder made
    synced.clear()
    durable_files.make_folder(tmp_path / "a" / "b")
    assert synced == []  # nothing made, nothing to sync


def test_create_secret__made_once__the_first_stands_owner_only(tmp_path):
    path = tmp_path / "admission" / "network.psk"
    durable_files.create_secret(path, b"first")
    durable_files.create_secret(path, b"second")  # another process, a moment later
    assert path.read_bytes() == b"first"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["network.psk"]


def test_write_atomically__exclusive_and_exists__file_exists_error_nothing_changed(tmp_path):
    path = tmp_path / "operator.key"
    path.write_bytes(b"kept")
    with pytest.raises(FileExistsError):
        durable_files.write_atomically(path, b"other", exclusive=True)
    assert path.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["operator.key"]
