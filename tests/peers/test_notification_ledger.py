"""The notification ledger forgets a sent email's key after the retention: it only guards a
redelivered batch (minutes), and kept for ever it grew by a row for every email sent."""

import sqlite3

import pytest

from services.notify import Email
from services.peers.notification_ledger import NotificationLedger
from services.peers.settings import PeersSettings


def _email(n: int) -> Email:
    return Email(("patient@example.org",), "subject", "text", None, f"<m{n}@pulseledger>")


def test_sent_keys__forgotten_after_the_retention__pending_ones_kept(tmp_path, monkeypatch):
    ledger = NotificationLedger(tmp_path / "ledger.db")
    clock = [1_000.0]
    monkeypatch.setattr("services.peers.notification_ledger.time.time", lambda: clock[0])
    ledger.queue({"old-1": _email(1), "old-2": _email(2)}, ["old-nobody"], {})
    ledger.mark_sent(["old-1", "old-2"])
    clock[0] = 2_000.0
    ledger.queue({"new": _email(3), "waiting": _email(4)}, [], {})
    ledger.mark_sent(["new"])

    assert ledger.forget_sent(settled_before=1_500.0, limit=2) == 2  # a chunk at a time
    assert ledger.forget_sent(settled_before=1_500.0, limit=2) == 1
    assert ledger.forget_sent(settled_before=1_500.0, limit=2) == 0
    assert [ledger.known(k) for k in ("old-1", "old-2", "old-nobody", "new", "waiting")] == [
        False, False, False, True, True]
    assert [key for key, _ in ledger.pending(10)] == ["waiting"]  # never forgotten unsent


def test_ledger_from_before_sent_at__its_keys_count_from_the_upgrade(tmp_path):
    path = tmp_path / "ledger.db"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE sent (key TEXT PRIMARY KEY); INSERT INTO sent VALUES ('k');")
    db.close()
    ledger = NotificationLedger(path)
    assert ledger.known("k")
    assert ledger.forget_sent(settled_before=0.0) == 0
    assert ledger.forget_sent(settled_before=float("inf")) == 1
    assert not ledger.known("k")
    NotificationLedger(path)  # opened again: nothing to upgrade


def test_retention_shorter_than_an_hour__refused(tmp_path):
    with pytest.raises(ValueError, match="notify_sent_retention_s"):
        PeersSettings(data_dir=tmp_path, name="n", notify_sent_retention_s=60)
