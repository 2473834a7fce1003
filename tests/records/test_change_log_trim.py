"""The change log's retention (docs/records.md, "The change log"): changes older than the horizon
are trimmed for every owner, newer ones are kept, and a cursor that trimmed changes followed
raises CursorExpired instead of reading on past a gap. Both backends; the old changes are
written with the store's clock set back (a store only takes changes stamped now)."""

from __future__ import annotations

import itertools
import os
import time
from contextlib import contextmanager

import pytest
from records_support import OTHER, OWNER

from services.records import CursorExpired, InvalidInput, firestore_tables, sqlite_tables

DAY_MS = 86_400_000


@contextmanager
def clock_set_back(monkeypatch, days: float):
    """Changes written inside are stamped `days` ago (and, in Firestore, carry cursors of then)."""
    then_ms = int(time.time() * 1000 - days * DAY_MS)
    ticks = itertools.count()
    with monkeypatch.context() as patch:
        for module in (sqlite_tables, firestore_tables):
            patch.setattr(module, "now_ms", lambda: then_ms)
        patch.setattr(firestore_tables, "_new_cursor",
                      lambda: f"{then_ms * 1_000_000 + next(ticks):020d}-{os.urandom(4).hex()}")
        yield


def _contacts(store, owner: str, n: int) -> None:
    for i in range(n):
        store.set_contacts(owner, [f"p{i}@example.org"])


def _horizon(days: float) -> int:
    return int(time.time() * 1000 - days * DAY_MS)


def test_trim__every_owner_loses_the_old_changes_and_keeps_the_new(store, monkeypatch):
    with clock_set_back(monkeypatch, days=9):
        _contacts(store, OWNER, 3)
        _contacts(store, OTHER, 2)
    _contacts(store, OWNER, 2)
    _contacts(store, OTHER, 1)

    assert store.trim_changes(_horizon(7)) == 5
    assert len(store.changes_since(OWNER, None)) == 2
    assert len(store.changes_since(OTHER, None)) == 1
    assert store.trim_changes(_horizon(7)) == 0  # nothing left that old


def test_trim__a_cursor_trimmed_changes_followed__expired_a_fresh_one_reads_on(store, monkeypatch):
    with clock_set_back(monkeypatch, days=9):
        _contacts(store, OWNER, 1)
        stale = store.latest_cursor(OWNER)
        _contacts(store, OWNER, 2)  # after the stale cursor, and trimmed below
    _contacts(store, OWNER, 1)
    fresh = store.latest_cursor(OWNER)
    _contacts(store, OWNER, 1)
    assert len(store.changes_since(OWNER, stale)) == 4  # before the trim: nothing missing

    store.trim_changes(_horizon(7))
    with pytest.raises(CursorExpired):
        store.changes_since(OWNER, stale)
    assert [c.kind for c in store.changes_since(OWNER, fresh)] == ["contacts_set"]
    assert store.changes_since(OWNER, None)[0].cursor == fresh  # the start of what is kept


def test_trim__nothing_old__no_cursor_expires(store):
    _contacts(store, OWNER, 2)
    first = store.changes_since(OWNER, None)[0].cursor
    assert store.trim_changes(_horizon(7)) == 0
    assert len(store.changes_since(OWNER, first)) == 1


def test_trim__a_horizon_younger_than_a_day__refused(store):
    with pytest.raises(InvalidInput, match="at least 86400 s"):
        store.trim_changes(_horizon(0.5))


def test_trim__more_changes_than_one_write_holds__all_go(store, monkeypatch, backend):
    # a few rows per write here, so the trim needs several: none is lost between them
    if backend == "sqlite":
        monkeypatch.setattr(sqlite_tables, "TRIM_ROWS_PER_WRITE", 3)
    else:
        monkeypatch.setattr(firestore_tables, "MAX_WRITES_PER_BATCH", 3)
    with clock_set_back(monkeypatch, days=8):
        _contacts(store, OWNER, 7)
        _contacts(store, OTHER, 4)
    _contacts(store, OWNER, 1)
    assert store.trim_changes(_horizon(7)) == 11
    assert len(store.changes_since(OWNER, None)) == 1
    assert store.changes_since(OTHER, None) == []


def test_trim__a_later_trim_keeping_longer__leaves_an_expired_cursor_expired(store, monkeypatch):
    """An operator's `trim-changes --older-than-days 30` after the peers' week-long trim: the
    changes a stale cursor missed are still gone, so it must still be refused."""
    with clock_set_back(monkeypatch, days=9):
        _contacts(store, OWNER, 1)
        stale = store.latest_cursor(OWNER)
        _contacts(store, OWNER, 1)
    _contacts(store, OWNER, 1)
    store.trim_changes(_horizon(7))
    assert store.trim_changes(_horizon(30)) == 0
    with pytest.raises(CursorExpired):
        store.changes_since(OWNER, stale)
