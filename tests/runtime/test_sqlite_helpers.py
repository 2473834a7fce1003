"""The shared SQLite helpers on real files: pragmas, write transactions, the lock taken up front,
retries while locked, and read-only connections."""

from __future__ import annotations

import sqlite3

import pytest

from services.runtime.sqlite_helpers import (
    connect,
    connect_read_only,
    immediate,
    retry_while_locked,
)


def test_connect__sets_wal_synchronous_and_busy_timeout(tmp_path):
    conn = connect(tmp_path / "sub" / "a.db", "NORMAL", busy_timeout_s=2.5, secure_delete=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.isolation_level is None  # autocommit: transactions are explicit


def test_connect__unknown_synchronous__refused(tmp_path):
    with pytest.raises(ValueError, match="synchronous"):
        connect(tmp_path / "a.db", "FULL; DROP TABLE x")  # type: ignore[arg-type]


def test_immediate__commits_or_rolls_back(tmp_path):
    conn = connect(tmp_path / "a.db")
    conn.execute("CREATE TABLE t (x INTEGER)")
    with immediate(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(KeyError), immediate(conn):
        conn.execute("INSERT INTO t VALUES (2)")
        raise KeyError("boom")
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert not conn.in_transaction


def test_immediate__takes_the_write_lock_up_front(tmp_path):
    path = tmp_path / "a.db"
    first = connect(path)
    first.execute("CREATE TABLE t (x INTEGER)")
    second = connect(path, busy_timeout_s=0.0)
    # no write yet, but the lock is held: another writer cannot even begin
    with immediate(first), pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("BEGIN IMMEDIATE")
    with immediate(second):
        second.execute("INSERT INTO t VALUES (1)")
    assert first.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1


def test_retry_while_locked__retries_until_the_lock_is_gone():
    attempts = []

    def operation():
        attempts.append(1)
        if len(attempts) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    assert retry_while_locked(operation, timeout_s=5) == "done"
    assert len(attempts) == 3


def test_retry_while_locked__other_errors_and_timeout_raise():
    def broken():
        raise sqlite3.OperationalError("no such table: t")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_while_locked(broken, timeout_s=5)

    def always_locked():
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        retry_while_locked(always_locked, timeout_s=0.0)


def test_connect_read_only__reads_but_cannot_write_or_create(tmp_path):
    path = tmp_path / "a.db"
    writer = connect(path)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("INSERT INTO t VALUES (7)")
    reader = connect_read_only(path)
    assert reader.execute("SELECT x FROM t").fetchall() == [(7,)]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("INSERT INTO t VALUES (8)")
    with pytest.raises(sqlite3.OperationalError):
        connect_read_only(tmp_path / "absent.db").execute("SELECT 1")
