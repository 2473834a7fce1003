"""Files made durable: one written whole or not at all (write_atomically), and many new files
at once with one sync of their filesystem, not one per file (sync_files).

Each fsync of a new file is a journal commit of its own (ext4 allocates a file's blocks when it
is synced, so the files written before it do not ride along): an alert burst's ~150 emails a
close round made ~150 commits, the round took ~900 ms instead of ~350, and every other durable
commit on the machine waited behind them (2026-12-05). `syncfs` writes out the filesystem's
dirty data and metadata in one go. Where it is missing (not Linux), each file is synced.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def _load_syncfs():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function = ctypes.CDLL(name, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_syncfs = _load_syncfs()


def sync_files(paths: Iterable[Path], folder: Path) -> None:
    """The data of `paths` (files in `folder`) on disk when this returns; OSError if not."""
    if _syncfs is not None:
        handle = os.open(folder, os.O_RDONLY)
        try:
            if _syncfs(handle) != 0:  # since Linux 5.8 it reports the filesystem's write errors
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error))
        finally:
            os.close(handle)
        return
    for path in paths:
        with open(path, "rb") as file:
            os.fsync(file.fileno())


def sync_folder(folder: Path) -> None:
    """The names in `folder` (files created, renamed, removed) on disk when this returns."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)



def write_atomically(path: Path, data: bytes, mode: int = 0o644, *,
                     exclusive: bool = False) -> None:
    """`path` holds `data` when this returns, and after a crash at any point it holds either
    `data` or what it held before: never half of it, never an empty file. Written to a
    temporary file beside it (created with `mode`, so a secret is never readable by others),
    synced, renamed over it, and the folder's names synced (a rename is not durable until
    they are). The fsync before the rename matters: ext4 allocates a new file's blocks late,
    and a rename that reaches the disk before them leaves an empty file under the name.

    `exclusive`: create it only if it does not exist, FileExistsError if it does (a secret
    made once: of two processes making it at the same moment, one wins and both read its
    bytes, where a rename would let the second replace what the first already used)."""
    path = Path(path)
    make_folder(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if exclusive:
            os.link(temporary, path)  # fails if the name exists, where a rename replaces it
            os.unlink(temporary)
        else:
            os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def create_secret(path: Path, data: bytes) -> None:
    """A secret made once (a key's seed): readable by its owner only, written whole and durably,
    and if another process made it first, theirs stands (both then read the same bytes)."""
    try:
        write_atomically(path, data, 0o600, exclusive=True)
    except FileExistsError:
        pass


def make_folder(folder: Path) -> None:
    """`folder` exists when this returns, and each folder it made is named on disk (its
    parent synced): a file made durable inside a folder whose own name was lost is lost too."""
    folder = Path(folder)
    if folder.is_dir():
        return
    make_folder(folder.parent)
    try:
        folder.mkdir()
    except FileExistsError:  # made meanwhile by another process: its maker syncs the name
        return
    sync_folder(folder.parent)
