"""A supervised cluster of peer processes on 127.0.0.1 with a realtime fleet feeding the queue,
for the kill -9 tests (make test) and the chaos matrix (make chaos)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from pulseledger_testkit.admission import install_test_operator

from services.ingest.queues.local import LocalQueue
from services.ingest.simulator import make_fleet, onboard, run
from services.peers.peer_processes import PeerSpec, PeerSupervisor, addr_dir

from .helpers import FAST, open_test_store, stored_keys

# Realtime deadlines: a reading held up by a kill (lock expiry, rpc timeout, presence timeout)
# must still arrive before its window closes, so grace and idle-close exceed those delays.
KILL_TEST_SETTINGS = {**FAST, "grace_ms": 6_000, "idle_close_s": 7.0, "quiet_flush_s": 7.0,
                      "rpc_timeout_s": 2.0}

# Two of everything, in four processes (each py-libp2p process costs ≈2 s of CPU to start and
# the machine has two cores): killing p1 kills a master, a prediction, a storage and a
# notification peer at once; killing a1 kills an aggregator.
SERVICE_ROLES = ("master", "prediction", "storage", "notification")
SPECS = [PeerSpec("p1", SERVICE_ROLES), PeerSpec("p2", SERVICE_ROLES),
         PeerSpec("a1", ("aggregation",)), PeerSpec("a2", ("aggregation",))]
# Every kind of peer in its own process, two of each (prediction rides with the masters).
MATRIX = [PeerSpec("a1", ("aggregation",)), PeerSpec("a2", ("aggregation",)),
          PeerSpec("s1", ("storage",)), PeerSpec("s2", ("storage",)),
          PeerSpec("n1", ("notification",)), PeerSpec("n2", ("notification",)),
          PeerSpec("m1", ("master", "prediction")), PeerSpec("m2", ("master", "prediction"))]
# The cheapest cluster that still has two of every role: two processes with all five roles.
# Killing one kills a master, an aggregator mid-window, a prediction, a storage and a
# notification peer at once; the other must carry on alone until the supervisor restarts it.
PAIR = [PeerSpec("n1", SERVICE_ROLES + ("aggregation",)),
        PeerSpec("n2", SERVICE_ROLES + ("aggregation",))]


def cluster_env(settings: dict, lock_s: float = 1.5,
                alerts: dict | None = None) -> dict[str, str]:
    """Peer settings as the environment; the alert rule (PULSELEDGER_ALERTS_*) by default alerts
    on a user's first irregular window, as the in-process helpers do."""
    env = {f"PULSELEDGER_PEERS_{k.upper()}": str(v) for k, v in settings.items()}
    env.update({f"PULSELEDGER_ALERTS_{k.upper()}": str(v)
                for k, v in (alerts or {"k": 1, "n": 1}).items()})
    env["PULSELEDGER_INGEST_LOCK_S"] = str(lock_s)
    return env


class Cluster:
    def __init__(self, data_dir: Path, specs=SPECS, settings=KILL_TEST_SETTINGS):
        self.data_dir = data_dir
        install_test_operator(data_dir)
        self.supervisor = PeerSupervisor(data_dir, list(specs), cluster_env(settings),
                                     log_dir=data_dir / "logs")
        self.store = open_test_store(data_dir)  # creates the master key before any peer starts
        self.owners: list[str] = []
        self.queue = LocalQueue(data_dir / "queue.db")
        self.recoveries: dict[str, float] = {}

    def __enter__(self):
        try:
            self.supervisor.start(timeout_s=180)
            assert self.supervisor.wait_ready(180), "peers did not start"
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.supervisor.stop()
        self.queue.close()
        self.store.close()

    def peers_cut_off(self) -> list[str]:
        """Lines of the peers' logs saying a peer heard no presence note from any connected
        peer (services/peers/presence_isolation.py): one peer's kill must not cut another off."""
        return [f"{log.stem}: {line}" for log in sorted((self.data_dir / "logs").glob("*.log"))
                for line in log.read_text(errors="replace").splitlines()
                if "cut off from the control plane" in line]

    def feed(self, users: int, seconds: int, batch_size: int = 1):
        """Start a realtime fleet in a thread; returns (thread, expected keys)."""
        fleet = make_fleet(users, irregular_fraction=0.2, seed=f"cluster-{self.data_dir.name}")
        onboard(fleet, self.store)
        self.owners += [d.owner for d in fleet]
        sink = LocalQueue(self.data_dir / "queue.db")
        thread = threading.Thread(target=run, args=(sink, fleet, seconds, batch_size, True),
                                  daemon=True)
        thread.start()
        expected = {(d.user_id, seq) for d in fleet for seq in range(1, seconds + 1)}
        return thread, expected

    def kill(self, name: str) -> None:
        """kill -9, then measure how long until the supervisor has it serving again."""
        started = time.monotonic()
        assert self.supervisor.pid(name) is not None, f"{name} is not running"
        (addr_dir(self.data_dir) / f"{name}.addr").unlink(missing_ok=True)
        self.supervisor.kill(name, signal.SIGKILL)
        while not (addr_dir(self.data_dir) / f"{name}.addr").exists():
            self.supervisor.poll()
            time.sleep(0.05)
            if time.monotonic() - started > 180:
                raise AssertionError(f"{name} did not come back")
        self.recoveries[name] = time.monotonic() - started

    def wait_stored(self, expected: set, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.supervisor.poll()
            if set(stored_keys(self.store, self.owners)) >= expected and self.queue.depth() == 0:
                return True
            time.sleep(0.25)
        return False
