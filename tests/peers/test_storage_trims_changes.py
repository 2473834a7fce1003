"""The storage peer that anchors also trims the record store's change log of changes older than
`changes_retention_s`, once per `changes_trim_interval_s`; the others leave it alone. Real
record store (SQLite), the role's loop driven directly. (The trim itself, on both backends:
tests/records/test_change_log_trim.py.)"""

import time
from types import SimpleNamespace

import pytest
import trio
from pydantic import ValidationError

from services.peers.assignment import ranked
from services.peers.roles.storage import StorageRole
from services.peers.settings import PeersSettings
from services.records import sqlite_tables

from .helpers import open_test_store

OWNER = "0x" + "ab" * 20
DAY_MS = 86_400_000
PEERS = ["12D3KooWPeerOne", "12D3KooWPeerTwo"]


def _store_with_old_and_new_changes(tmp_path, monkeypatch, old: int, new: int):
    store = open_test_store(tmp_path)
    with monkeypatch.context() as patch:  # written nine days ago
        patch.setattr(sqlite_tables, "now_ms", lambda: int(time.time() * 1000) - 9 * DAY_MS)
        for i in range(old):
            store.set_contacts(OWNER, [f"old{i}@example.org"])
    for i in range(new):
        store.set_contacts(OWNER, [f"new{i}@example.org"])
    return store


def _role(tmp_path, store, self_id: str, **settings) -> StorageRole:
    return StorageRole(
        settings=PeersSettings(data_dir=tmp_path, anchor_interval_s=0.01, **settings),
        rpc=SimpleNamespace(register=lambda op, handler: None, self_id=self_id),
        membership=SimpleNamespace(live=lambda role: list(PEERS)), store=store)


async def _run_for(role: StorageRole, seconds: float) -> None:
    with trio.move_on_after(seconds):
        await role.run()


def test_the_anchoring_peer_trims_past_the_retention__the_other_does_not(tmp_path, monkeypatch):
    store = _store_with_old_and_new_changes(tmp_path, monkeypatch, old=4, new=2)
    anchoring = ranked("anchor", PEERS)[0]
    other = _role(tmp_path, store, next(p for p in PEERS if p != anchoring))
    trio.run(_run_for, other, 0.2)
    assert other.metrics()["storage_changes_trimmed"] == 0
    assert len(store.changes_since(OWNER, None)) == 6

    role = _role(tmp_path, store, anchoring, changes_retention_s=7 * 86_400)
    trio.run(_run_for, role, 0.2)
    assert role.metrics()["storage_changes_trimmed"] == 4
    assert [c.kind for c in store.changes_since(OWNER, None)] == ["contacts_set"] * 2


def test_once_per_interval(tmp_path, monkeypatch):
    store = _store_with_old_and_new_changes(tmp_path, monkeypatch, old=1, new=0)
    role = _role(tmp_path, store, ranked("anchor", PEERS)[0], changes_trim_interval_s=3_600)
    calls = []
    real_trim = store.trim_changes
    monkeypatch.setattr(store, "trim_changes", lambda before_ms: calls.append(before_ms)
                        or real_trim(before_ms))
    trio.run(_run_for, role, 0.3)  # ~30 anchoring rounds
    assert len(calls) == 1
    assert role.changes_trimmed == 1


def test_a_retention_under_a_day__refused_at_start():
    with pytest.raises(ValidationError, match="changes_retention_s"):
        PeersSettings(changes_retention_s=3_600)


def test_a_long_trim_holds_up_no_anchoring_round(tmp_path, monkeypatch):
    """The first trim of a store that never had one can take hours: anchoring goes on."""
    store = open_test_store(tmp_path)
    role = _role(tmp_path, store, ranked("anchor", PEERS)[0])
    monkeypatch.setattr(store, "trim_changes", lambda before_ms: time.sleep(1.0) or 0)
    rounds = []

    async def anchor_pending() -> int:
        rounds.append(time.monotonic())
        return 0

    monkeypatch.setattr(role, "anchor_pending", anchor_pending)
    trio.run(_run_for, role, 0.5)  # the trim is still running throughout
    assert len(rounds) >= 5


def test_the_anchoring_peer_purges_old_letter_retirements__not_recent_ones(tmp_path, monkeypatch):
    """Retired dead letters are remembered (so a late write of the letter makes none) for
    `retired_letters_retention_s`, then the anchoring peer's housekeeping forgets them."""
    store = open_test_store(tmp_path)
    with monkeypatch.context() as patch:  # retired nine days ago
        patch.setattr("services.records.validation.now_ms",
                      lambda: int(time.time() * 1000) - 9 * DAY_MS)
        store.retire_dead_letter("reading", b"old", "late")
    store.retire_dead_letter("reading", b"recent", "late")
    role = _role(tmp_path, store, ranked("anchor", PEERS)[0])
    trio.run(_run_for, role, 0.2)
    assert role.metrics()["storage_retired_letters_purged"] == 1
    store.dead_letter("reading", b"old", "late")  # forgotten: written again
    store.dead_letter("reading", b"recent", "late")  # still retired: no letter
    assert [d.payload for d in store.dead_letters("reading")] == [b"old"]


def test_retired_letters_retention__at_least_a_day(tmp_path):
    with pytest.raises(ValidationError):
        PeersSettings(data_dir=tmp_path, retired_letters_retention_s=3_600)
