"""SQLite as every service opens it: WAL (readers never block the writer), a chosen `synchronous`,
a busy timeout for writers in other processes or threads, and `BEGIN IMMEDIATE` write
transactions (the write lock taken up front, so two writers never deadlock upgrading a read)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypeVar

BUSY_TIMEOUT_S = 30.0  # writers from other processes wait this long for the lock

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
T = TypeVar("T")


def connect(path: Path | str, synchronous: Synchronous = "FULL", *,
            busy_timeout_s: float = BUSY_TIMEOUT_S, secure_delete: bool = False,
            make_parent: bool = True, page_size: int | None = None) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit: `immediate`), usable from several
    threads (the caller serialises them), in WAL mode.

    synchronous: FULL where an acknowledged write must survive power loss; NORMAL where a
    crash may lose the last transactions but never corrupts (WAL). secure_delete: deleted rows
    are overwritten (erasure). page_size: bytes a page of a file this connection creates
    (SQLite's default 4,096); a file that already has pages keeps its own (a WAL file's
    cannot change)."""
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    if make_parent:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                           timeout=busy_timeout_s)
    if page_size is not None:  # before WAL mode: it takes effect only as the file is created
        conn.execute(f"PRAGMA page_size={int(page_size)}")
    retry_while_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), busy_timeout_s)
    if secure_delete:
        conn.execute("PRAGMA secure_delete=ON")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    return conn


def connect_read_only(path: Path | str, busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """A connection that cannot write (a scrape or a view reading another process's file);
    fails if the file does not exist rather than creating it."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                           timeout=busy_timeout_s)


def retry_while_locked(operation: Callable[[], T], timeout_s: float = BUSY_TIMEOUT_S) -> T:
    """Run `operation`, retrying while SQLite answers "database is locked" without waiting on
    its busy handler (switching a fresh file to WAL while another process does the same; a
    BEGIN IMMEDIATE after a stale read snapshot), until `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return operation()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taking the write lock up front; rolled back on any exception
    (including KeyboardInterrupt and trio's Cancelled), committed otherwise."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
