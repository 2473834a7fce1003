"""The supervisor: runs each peer as its own process and restarts whatever dies.

A restarted peer keeps its identity (its key file) and its aggregator state (its SQLite file), and
bootstraps from the addresses the other peers last published in data_dir/addrs — any live peer
will do. Restarts back off (doubling up to max_backoff_s) so a peer that cannot start does not
spin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PeerSpec:
    name: str
    roles: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class _Child:
    spec: PeerSpec
    process: subprocess.Popen | None = None
    restarts: int = 0
    backoff_s: float = 0.2
    next_start: float = 0.0
    started_at: float = 0.0
    launched: bool = False  # poll() restarts only what start() launched


def addr_dir(data_dir: Path) -> Path:
    return data_dir / "addrs"


def known_addresses(data_dir: Path, exclude: str = "") -> list[str]:
    out = []
    for path in sorted(addr_dir(data_dir).glob("*.addr")):
        if path.stem != exclude:
            text = path.read_text().strip()
            if text:
                out.append(text)
    return out


class Supervisor:
    def __init__(self, data_dir: Path, specs: list[PeerSpec], env: dict[str, str] | None = None,
                 max_backoff_s: float = 5.0, log_dir: Path | None = None,
                 local_operator: bool = True):
        """local_operator: issue each peer's credential from data_dir/admission/operator.key
        (the one-machine setup); False where the operator issued them already."""
        self.data_dir = Path(data_dir)
        self.local_operator = local_operator
        self.children = {spec.name: _Child(spec) for spec in specs}
        self.env = dict(env or {})
        self.max_backoff_s = max_backoff_s
        self.log_dir = log_dir

    def _command(self, spec: PeerSpec) -> list[str]:
        command = [sys.executable, "-m", "services.peers.cli", "peer", "--name", spec.name,
                   "--data-dir", str(self.data_dir)]
        for role in spec.roles:
            command += ["--role", role]
        for address in known_addresses(self.data_dir, exclude=spec.name):
            command += ["--bootstrap", address]
        return command

    def _start(self, child: _Child) -> None:
        env = {**os.environ, **self.env, **child.spec.env}
        (addr_dir(self.data_dir) / f"{child.spec.name}.addr").unlink(missing_ok=True)
        output = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{child.spec.name}.log", "ab")  # noqa: SIM115
        child.process = subprocess.Popen(self._command(child.spec), env=env, stdout=output,
                                         stderr=subprocess.STDOUT)
        child.started_at = time.monotonic()
        child.launched = True

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the first peer, wait until it has an address, then the rest bootstrap from it."""
        addr_dir(self.data_dir).mkdir(parents=True, exist_ok=True)
        if self.local_operator:
            from services.peers.admission.local import admit_locally

            admit_locally(self.data_dir, {c.spec.name: c.spec.roles for c in self.children.values()})
        children = list(self.children.values())
        self._start(children[0])
        self.wait_ready(timeout_s, [children[0].spec.name])
        for child in children[1:]:
            self._start(child)

    def wait_ready(self, timeout_s: float = 60.0, names=None) -> bool:
        deadline = time.monotonic() + timeout_s
        names = list(names or self.children)
        while time.monotonic() < deadline:
            if all((addr_dir(self.data_dir) / f"{n}.addr").exists() for n in names):
                return True
            self.poll()
            time.sleep(0.1)
        return False

    def poll(self) -> None:
        """Restart children that exited (with backoff); call this periodically."""
        now = time.monotonic()
        for child in self.children.values():
            if not child.launched:
                continue
            if child.process is not None and child.process.poll() is None:
                if now - child.started_at > 30:
                    child.backoff_s = 0.2  # it stayed up: forgive earlier crashes
                continue
            if child.process is not None:
                child.process = None
                child.next_start = now + child.backoff_s
                child.backoff_s = min(self.max_backoff_s, child.backoff_s * 2)
                child.restarts += 1
            if now >= child.next_start:
                self._start(child)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.children[name].process
        if process is not None:
            process.send_signal(sig)

    def pid(self, name: str) -> int | None:
        process = self.children[name].process
        return process.pid if process is not None else None

    def run_forever(self, stop) -> None:
        self.start()
        while not stop():
            self.poll()
            time.sleep(0.2)
        self.stop()

    def stop(self) -> None:
        for child in self.children.values():
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + 5
        for child in self.children.values():
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
