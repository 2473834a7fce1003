"""Idempotent puts under concurrent writers: one record per window, one key per record."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from records_support import DEVICE, OWNER, fresh_chain, window_payload

from services.records import WindowInput
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore

WINDOWS = 60


def test_two_threads_two_stores_put_the_same_windows__one_record_each(make_store):
    """Two store instances (two connections / two Firestore clients) race on the same windows."""
    stores = [make_store(), make_store()]
    barrier = threading.Barrier(2)
    results: dict[int, list] = {}

    def writer(n: int) -> None:
        barrier.wait()
        results[n] = [
            stores[n].put_window(OWNER, DEVICE, i * 10_000, window_payload(i))
            for i in range(WINDOWS)
        ]

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(results) == {0, 1}
    for i in range(WINDOWS):
        a, b = results[0][i], results[1][i]
        assert a.record_id == b.record_id and a.ciphertext_sha256 == b.ciphertext_sha256
        assert a.created != b.created  # exactly one writer created it
    store = stores[0]
    assert len(store.list_windows(OWNER, limit=1000)) == WINDOWS
    assert store.get_window(results[1][5].record_id) == window_payload(5)
    assert len(list(store.keys.scan())) == WINDOWS  # losers destroyed the keys they minted


_WRITER = """
import json, sys, time
from pathlib import Path
from services.records import ChainIdentity, WindowInput
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore
directory, chain, master, go = sys.argv[1], json.loads(sys.argv[2]), bytes.fromhex(sys.argv[3]), Path(sys.argv[4])
store = SqliteRecordStore(Path(directory), ChainIdentity(**chain), Keyring(master))
while not go.exists():
    time.sleep(0.001)
created = 0
for i in range({n}):
    created += store.put_windows([WindowInput("{owner}", "{device}", i * 10_000, {{"i": i}})])[0].created
print(created)
"""


def test_two_processes_put_the_same_windows__one_record_each(tmp_path: Path):
    chain, master = fresh_chain(), os.urandom(32)
    script = _WRITER.format(n=WINDOWS, owner=OWNER, device=DEVICE)
    args = [
        str(tmp_path / "records"),
        json.dumps(chain.canonical()),
        master.hex(),
        str(tmp_path / "go"),
    ]
    repo = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, cwd=repo, text=True
        )
        for _ in range(2)
    ]
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum(int(o) for o in outputs) == WINDOWS
    store = SqliteRecordStore(tmp_path / "records", chain, Keyring(master))
    assert len(store.list_windows(OWNER, limit=1000)) == WINDOWS
    assert len(list(store.keys.scan())) == WINDOWS
    refs = store.put_windows([WindowInput(OWNER, DEVICE, i * 10_000, {}) for i in range(WINDOWS)])
    assert not any(r.created for r in refs)
    assert store.get_window(refs[7].record_id) == {"i": 7}
    store.close()
