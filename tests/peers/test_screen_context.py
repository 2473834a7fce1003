"""The aggregator asks the screen about each window together with the device's windows it closed
before (services/peers/recent_windows.py), over a real pipeline on 127.0.0.1: every window after a
device's first carries exactly the values of the windows before it, and storage never gets them."""

from collections import defaultdict

import trio

from services.ingest.queues.local import LocalQueue
from services.peers.node import PeerNode
from services.peers.settings import ALL_ROLES
from services.predict.base import load_predictor

from .helpers import Workload, ingest_settings, peer_settings, stored_keys, stored_windows, wait_for


class RecordingPredictor:
    """The real screen, remembering what it was asked."""

    def __init__(self):
        self.screen = load_predictor()
        self.asked = []

    def predict(self, window):
        return self.predict_batch([window])[0]

    def predict_batch(self, windows):
        self.asked.extend(windows)
        return self.screen.predict_batch(windows)


def test_each_window_is_judged_with_the_windows_before_it(tmp_path):
    workload = Workload(tmp_path, devices=3, seconds=45)
    LocalQueue(tmp_path / "queue.db").send(workload.valid_messages)
    owners = [d.owner for d in workload.fleet]
    predictor = RecordingPredictor()

    async def main():
        async with trio.open_nursery() as nursery:
            node = PeerNode(peer_settings(tmp_path, "all", ALL_ROLES), ingest_settings(tmp_path),
                            predictor=predictor)
            await nursery.start(node.run)
            done = await wait_for(
                lambda: set(stored_keys(workload.store, owners)) == workload.valid_keys, 60,
                poll_s=0.2)
            nursery.cancel_scope.cancel()
        return done

    assert trio.run(main)
    by_device = defaultdict(list)
    for window in sorted(predictor.asked, key=lambda w: w.start_ms):
        by_device[window.user_id].append(window)
    with_context = 0
    for windows in by_device.values():
        assert windows[0].context_rr_ms is None  # the device's first window
        for i, window in enumerate(windows[1:], start=1):
            before = [w for w in windows[:i] if window.start_ms - 50_000 <= w.start_ms]
            # the simulated wearables send RR intervals: the context is theirs
            assert window.context_rr_ms == [x for w in before for x in w.rr_ms]
            assert window.context_heart_rates is None
            with_context += 1
    assert with_context >= len(by_device) * 2
    # storage keeps the window's own readings only
    assert all("context" not in payload for payload in stored_windows(workload.store, owners))
