"""A master killed -9 after dead-lettering part of a message but before completing it: the message
is redelivered, dead-lettered again, and the record store still holds one dead letter — its
dead_letter is idempotent on (kind, payload digest, reason).

Real processes on 127.0.0.1: a master and an aggregator under the supervisor. The aggregator is
frozen (SIGSTOP) so the master stays inside the message — invalid reading dead-lettered, valid
one not yet acknowledged — for as long as the test needs to kill it there."""

from __future__ import annotations

import signal
import time

from pulseledger_testkit.admission import install_test_operator

from services.ingest.queues.local import LocalQueue
from services.ingest.reading import Reading, sign_batch
from services.ingest.simulator import make_fleet, onboard
from services.peers.peer_processes import PeerSpec, PeerSupervisor

from .cluster import cluster_env
from .helpers import FAST, open_test_store


def wait(predicate, timeout_s: float, supervisor: PeerSupervisor) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        supervisor.poll()
        time.sleep(0.05)
    return False


def test_master_killed_after_dead_lettering__redelivery_leaves_one_dead_letter(tmp_path):
    store = open_test_store(tmp_path)
    [device] = make_fleet(1, seed="dead-letter-redelivery")
    onboard([device], store)
    now_ms = int(time.time() * 1000)
    message = sign_batch(device.key, [Reading(device.user_id, 72.0, now_ms - 2_000, 1, (830,)),
                                      Reading(device.user_id, 400.0, now_ms - 1_000, 2, (830,))])
    queue = LocalQueue(tmp_path / "queue.db")
    # The master waits for the frozen aggregator far longer than the test needs (rpc timeout,
    # presence timeout); its lock, once it is dead, expires quickly.
    settings = {**FAST, "rpc_timeout_s": 60.0, "presence_timeout_s": 60.0}
    install_test_operator(tmp_path)
    supervisor = PeerSupervisor(tmp_path, [PeerSpec("a1", ("aggregation",)),
                                       PeerSpec("m1", ("master",))],
                            cluster_env(settings, lock_s=1.5), log_dir=tmp_path / "logs")
    try:
        supervisor.start(timeout_s=120)
        assert supervisor.wait_ready(120), "peers did not start"
        time.sleep(1.0)  # the master hears the aggregator's presence
        supervisor.kill("a1", signal.SIGSTOP)
        queue.send([message])

        dead_letters = lambda: store.dead_letters("reading")
        assert wait(lambda: len(dead_letters()) == 1, 60, supervisor)
        assert queue.depth() == 1  # dead-lettered, but the message is not completed
        first_master = supervisor.pid("m1")
        supervisor.kill("m1", signal.SIGKILL)
        supervisor.kill("a1", signal.SIGCONT)

        # Completing needs the valid reading acknowledged, which only a second delivery (to the
        # restarted master) can do, and every delivery validates and dead-letters first.
        assert wait(lambda: queue.depth() == 0, 120, supervisor), "message never completed"
        assert supervisor.pid("m1") != first_master
        assert supervisor.children["m1"].restarts == 1
        [dead] = dead_letters()
        assert dead.reason == "range: heartrate"
    finally:
        supervisor.kill("a1", signal.SIGCONT)
        supervisor.stop()
        queue.close()
        store.close()
