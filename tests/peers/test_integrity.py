"""Integrity past admission: an admitted aggregator gone bad (a real credential, role
aggregation) cannot get a window stored that no master validated, nor an alert sent for a window
storage does not hold as claimed. Real hosts on 127.0.0.1, after a counted pipeline run."""

import json
import time

import trio
from pulseledger_testkit.admission import DIGEST_KEY, OPERATOR

from services.ingest.queues.local import LocalQueue
from services.peers.admission.credential import issue
from services.peers.attestation import attest
from services.peers.node import PeerNode

from .attacker import Attacker
from .helpers import (
    Workload,
    dead_letter_reasons,
    ingest_settings,
    peer_settings,
    stored_keys,
    stored_windows,
    wait_for,
)

UNATTESTED = "unattested: readings no admitted master validated"


def forged_window(device: str, start_ms: int, heartrate: float, attestations: list) -> dict:
    reading = {"userId": device, "seq": 99_999_999, "ts_ms": start_ms + 500,
               "heartrate": heartrate, "rr": [330], "signal": "rr"}
    return {"device_id": device, "window_start_ms": start_ms, "attestations": attestations,
            "readings": [{k: reading[k] for k in ("seq", "ts_ms", "heartrate", "rr")}],
            "prediction": {"status": "irregular", "probability": 0.99, "input_kind": "rr",
                           "model_sha256": "0" * 64, "input_sha256": "0" * 64}}, reading


def test_admitted_aggregator__forged_windows_and_alerts__refused(tmp_path):
    workload = Workload(tmp_path, devices=4, seconds=15)
    queue = LocalQueue(tmp_path / "queue.db")
    queue.send(workload.valid_messages)
    owners = [d.owner for d in workload.fleet]
    device = workload.fleet[0].user_id
    rogue = Attacker()
    rogue.credential = issue(OPERATOR, rogue.peer_id, ["aggregation"], 3600)

    async def main():
        async with trio.open_nursery() as nursery:
            first = PeerNode(peer_settings(tmp_path, "a", ["master", "prediction", "storage",
                                                           "notification", "aggregation"]),
                             ingest_settings(tmp_path))
            await nursery.start(first.run)
            assert await wait_for(lambda: queue.depth() == 0 and set(
                stored_keys(workload.store, owners)) == workload.valid_keys, 60, 0.2)
            await trio.sleep(1.0)
            emails_before = len(list((tmp_path / "outbox").glob("*.eml")))
            await nursery.start(rogue.run)
            await rogue.dial(first.address)

            start = int(time.time() * 1000) // 10_000 * 10_000 - 3_600_000
            unsigned, reading = forged_window(device, start, 181.0, [])
            self_signed, _ = forged_window(device, start + 10_000, 181.0, [
                *attest(rogue.key_pair, rogue.peer_id, rogue.credential, [reading],
                        DIGEST_KEY).values()])
            genuine = attest(first.key_pair, first.peer_id, first.gate.own_document, [reading],
                             DIGEST_KEY)
            altered, _ = forged_window(device, start + 20_000, 35.0, [*genuine.values()])
            # no reading: nothing for an attestation to cover (an alert, or a window squatted
            # ahead of the device's own: stored first, the real one would lose to it)
            empty = dict(unsigned, readings=[], attestations=[])
            ahead = dict(empty, window_start_ms=int(time.time() * 1000) // 10_000 * 10_000 + 30_000)
            stored = await rogue.call(first.peer_id, "store.windows", {
                "window_ms": 10_000, "items": [unsigned, self_signed, altered, empty, ahead]})

            regular = next(p for p in stored_windows(workload.store, owners)
                           if p["prediction"]["status"] == "regular")
            irregular = {"status": "irregular", "probability": 0.99, "input_kind": "rr",
                         "model_sha256": "0" * 64, "input_sha256": "0" * 64}
            notified = await rogue.call(first.peer_id, "notify.predictions", {"items": [
                {"device_id": device, "window_start_ms": start + 86_400_000 * 2,
                 "prediction": irregular},  # future-dated
                {"device_id": device, "window_start_ms": start, "prediction": irregular},  # none
                {"device_id": regular["device_id"], "window_start_ms": regular["window_start_ms"],
                 "prediction": irregular},  # stored as regular
            ]})
            await trio.sleep(1.0)
            emails_after = len(list((tmp_path / "outbox").glob("*.eml")))
            metrics = first.metrics()
            nursery.cancel_scope.cancel()
        return stored, notified, emails_before, emails_after, metrics

    stored, notified, emails_before, emails_after, metrics = trio.run(main)
    assert stored["ok"] and stored["body"]["record_ids"] == []  # acknowledged, nothing stored
    assert [d.reason for d in workload.store.dead_letters("window")] == [UNATTESTED] * 3 + [
        "empty: a window record holds at least one reading"] * 2
    assert metrics["storage_windows_unattested"] == 3 and metrics["storage_windows_empty"] == 2
    counted = stored_keys(workload.store, owners)
    assert set(counted) == workload.valid_keys and max(counted.values()) == 1
    assert notified["ok"] and emails_after == emails_before
    for reason in ("future", "no_stored_window", "not_as_stored"):
        assert metrics[f'notification_refused_total{{reason="{reason}"}}'] == 1
    assert dead_letter_reasons(workload.store) == []
    assert json.dumps(metrics)  # counters only, serialisable for the status page
