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
