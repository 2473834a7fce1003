"""Record store figures → benchmarks/records.json (merged: the gateway adds its own keys).

- records_<backend>_write_per_s: window records written per second with `put_windows` in
  batches of 500 (encrypt, wrap key, store key, store record, change event);
- records_<backend>_single_put_per_s: the same, one `put_window` per window;
- records_<backend>_anchor_per_s: windows per second through the storage peers' anchoring
  round: `pending_unbatched(1024)` (each window authenticated first: key unwrapped, GCM tag
  checked), `record_batch(root, …, None)`, then `mark_batch_anchored` (the chain excluded);
- records_<backend>_read_p50_ms / _p99_ms: one `get_window(record_id, expected_root=root)`:
  read, sha256 + Merkle proof check against the anchored root, unwrap key, decrypt, parse
  (the chain check itself is the gateway's, excluded here).
SQLite on a temporary directory; Firestore on the official emulator started on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.records import ChainIdentity, WindowInput, merkle
from services.records.firestore_emulator import start_emulator
from services.records.firestore_store import FirestoreRecordStore, make_client
from services.records.keystore import Keyring
from services.records.sqlite_store import SqliteRecordStore
from services.records.window_payload import build_window_payload, reading

OUT = Path(__file__).with_name("records.json")
OWNER = "0x" + "a1" * 20
BATCH = 500
ANCHOR_BATCH = 1024


def payload(i: int, device: str) -> dict:
    """A 10-second window in the window record format the peers store
    (services/records/window_payload.py): 1 Hz readings with beat intervals + prediction."""
    rng = random.Random(i)
    start = 10_000 * i
    readings = [reading(k, start + 1000 * k, float(rng.randint(55, 110)),
                        [float(rng.randint(500, 1100)) for _ in range(2)]) for k in range(10)]
    probability = round(rng.random(), 4)
    return build_window_payload(device, start, 10_000, readings, {
        "status": "irregular" if probability >= 0.5 else "regular", "probability": probability,
        "input_kind": "rr", "model_sha256": "0" * 64, "input_sha256": "0" * 64})


def windows(n: int, device: str) -> list[WindowInput]:
    return [WindowInput(OWNER, device, 10_000 * i, payload(i, device)) for i in range(n)]


def measure(store, prefix: str, n_batch: int, n_single: int, n_reads: int) -> dict[str, float]:
    items = windows(n_batch, "12D3KooWBench")
    start = time.perf_counter()
    refs = []
    for i in range(0, len(items), BATCH):
        refs += store.put_windows(items[i : i + BATCH])
    write_per_s = n_batch / (time.perf_counter() - start)

    singles = windows(n_single, "12D3KooWSingle")
    start = time.perf_counter()
    for w in singles:
        store.put_window(w.owner, w.device_id, w.window_start_ms, w.payload)
    single_per_s = n_single / (time.perf_counter() - start)

    # anchor every window as the storage peers do, round after round
    start, anchored = time.perf_counter(), 0
    while pending := store.pending_unbatched(ANCHOR_BATCH):
        root, proofs = merkle.build([r.ciphertext_sha256 for r in pending])
        store.record_batch(root, [r.record_id for r in pending], proofs, None)
        store.mark_batch_anchored(root, "0x" + "ab" * 32)
        anchored += len(pending)
    anchor_per_s = anchored / (time.perf_counter() - start)
    roots = {r.record_id: store.proof_of(r.record_id)[0] for r in refs[: min(len(refs), 4096)]}
    sample = random.Random(7).choices(list(roots), k=n_reads)
    latencies = []
    for rid in sample:
        t = time.perf_counter()
        store.get_window(rid, expected_root=roots[rid])
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    return {
        f"records_{prefix}_write_per_s": round(write_per_s, 1),
        f"records_{prefix}_single_put_per_s": round(single_per_s, 1),
        f"records_{prefix}_anchor_per_s": round(anchor_per_s, 1),
        f"records_{prefix}_read_p50_ms": round(statistics.median(latencies), 3),
        f"records_{prefix}_read_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
    }


def main() -> None:
    chain = ChainIdentity(31337, "0x" + os.urandom(32).hex())
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteRecordStore(Path(tmp), chain, Keyring(os.urandom(32)))
        figures |= measure(store, "sqlite", n_batch=20_000, n_single=2_000, n_reads=5_000)
        store.close()
    with start_emulator() as emulator:
        client = make_client("pulseledger-bench", "(default)", emulator.host)
        store = FirestoreRecordStore(client, chain, Keyring(os.urandom(32)))
        figures |= measure(store, "firestore", n_batch=3_000, n_single=300, n_reads=500)
        store.close()
    existing = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.write_text(json.dumps(existing | figures, indent=2, sort_keys=True) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
