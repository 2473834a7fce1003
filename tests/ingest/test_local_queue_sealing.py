"""The local queue keeps no heart rate in plaintext at rest: not in its SQLite file, not in its
WAL, not among its dead letters; messages from before sealing are still read."""

import sqlite3

from services.ingest.queues.local import LocalQueue

BODY = b'{"reading": {"heartrate": 187.25, "userId": "dev"}, "sig": "x"}'


def test_bodies_sealed_in_file_and_wal__read_back_whole(tmp_path):
    queue = LocalQueue(tmp_path / "queue.db", lock_s=0.0, max_delivery_count=1)
    queue.send([BODY, BODY])
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("queue.db*") if not p.name.endswith(".key"))
    assert b"187.25" not in on_disk and b"heartrate" not in on_disk
    [first, second] = queue.receive(2)
    assert first.body == BODY
    queue.dead_letter(second, "test")
    assert queue.dead_lettered() == [(BODY, "test")]
    assert (tmp_path / "queue.db.key").stat().st_mode & 0o077 == 0
    other = LocalQueue(tmp_path / "queue.db")  # a second process on the machine: same key
    other.send([BODY])
    assert [m.body for m in queue.receive(5)] == [BODY]


def test_body_written_before_sealing__read_as_it_was(tmp_path):
    queue = LocalQueue(tmp_path / "queue.db")
    sqlite3.connect(tmp_path / "queue.db", isolation_level=None).execute(
        "INSERT INTO messages (body) VALUES (?)", (BODY,))
    assert [m.body for m in queue.receive(1)] == [BODY]
