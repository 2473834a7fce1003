"""A master's validation on worker processes (services/peers/master_validation.py): real spawned
workers reading the real record store. They judge every message as the peer's own loop does, a
worker killed mid-run costs no message, and a peer killed -9 leaves no worker behind."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import trio
from pydantic import ValidationError

from services.ingest.device_directory import CachedDevices
from services.peers.backends import records_settings
from services.peers.master_validation import MasterValidation
from services.peers.settings import PeersSettings

from .helpers import Workload, ingest_settings

DIGEST_KEY = b"k" * 32
ROOT = Path(__file__).resolve().parents[2]


def _validation(tmp_path, workload, workers: int) -> MasterValidation:
    records = records_settings(tmp_path, PeersSettings(data_dir=tmp_path).deployments_path())
    return MasterValidation(workers=workers, devices=CachedDevices(workload.store),
                            ingest_settings=ingest_settings(tmp_path), digest_key=DIGEST_KEY,
                            records_settings=records)


def _judged(validation: MasterValidation, bodies: list[bytes], now_ms: int, before=None):
    async def main():
        await validation.start()
        try:
            if before is not None:
                await before(validation)
            return await validation.check(bodies, now_ms)
        finally:
            validation.close()

    return trio.run(main)


def test_workers_judge_every_message_as_the_peers_own_loop(tmp_path):
    workload = Workload(tmp_path, devices=4, seconds=30)
    bodies = workload.all_messages()
    now_ms = int(time.time() * 1000)
    here = _judged(_validation(tmp_path, workload, 0), bodies, now_ms)
    there = _validation(tmp_path, workload, 2)
    assert there.workers == 2
    on_workers = _judged(there, bodies, now_ms)
    assert on_workers == here
    # and the judgement is a real one: valid readings with their digests, every reject reasoned
    assert sum(len(c.readings) for c in here) > 100
    assert all(len(c.readings) == len(c.digests) for c in here)
    reasons = sorted(reason for c in here for _, reason in c.rejects)
    assert reasons == sorted(["malformed: not JSON", "unsigned", "signature", "unknown device",
                              "range: heartrate", "timestamp: too old"])


def test_a_store_handed_in_validates_in_process(tmp_path):
    workload = Workload(tmp_path, devices=1, seconds=5)
    validation = MasterValidation(workers=2, devices=CachedDevices(workload.store),
                                  ingest_settings=ingest_settings(tmp_path),
                                  digest_key=DIGEST_KEY, records_settings=None)
    assert validation.workers == 0  # no settings to open that store elsewhere


@pytest.mark.parametrize("workers", [-1, 65])
def test_a_worker_count_out_of_range_is_refused_at_start(tmp_path, workers):
    with pytest.raises(ValidationError, match="validation_workers"):
        PeersSettings(data_dir=tmp_path, validation_workers=workers)


def test_a_killed_worker_costs_no_message(tmp_path):
    workload = Workload(tmp_path, devices=3, seconds=20)
    bodies = workload.all_messages()
    now_ms = int(time.time() * 1000)
    here = _judged(_validation(tmp_path, workload, 0), bodies, now_ms)

    async def kill_the_worker(validation):
        os.kill(validation.worker_pids[0], signal.SIGKILL)
        await trio.sleep(0.5)  # gone before the batch is handed to it

    validation = _validation(tmp_path, workload, 1)
    assert _judged(validation, bodies, now_ms, before=kill_the_worker) == here
    assert validation.pool_restarts == 1


def test_workers_die_with_a_peer_killed_hard(tmp_path):
    Workload(tmp_path, devices=1, seconds=5)
    script = textwrap.dedent(f"""
        import sys, trio
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from services.peers.backends import records_settings
        from services.ingest.device_directory import CachedDevices
        from services.peers.master_validation import MasterValidation
        from services.peers.settings import PeersSettings
        from services.ingest.settings import IngestSettings
        from services.records import open_store
        data = Path({str(tmp_path)!r})
        records = records_settings(data, PeersSettings(data_dir=data).deployments_path())
        v = MasterValidation(workers=1, devices=CachedDevices(open_store(records)),
                             ingest_settings=IngestSettings(), digest_key=b"k" * 32,
                             records_settings=records)
        async def main():
            await v.start()
            print(v.worker_pids[0], flush=True)
            await trio.sleep(60)
        trio.run(main)
    """)
    peer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(peer.stdout.readline())
        os.kill(worker, 0)  # alive while the peer is
        peer.kill()
        peer.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.05)
        assert not _alive(worker)
    finally:
        peer.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing
