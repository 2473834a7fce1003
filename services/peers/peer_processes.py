"""Peers as processes: each peer its own process under the runtime's supervisor, restarted
whenever it dies.

A restarted peer keeps its identity (its key file) and its aggregator state (its SQLite file), and
bootstraps from the addresses the other peers last published in data_dir/addrs — any live peer
will do (its command is built at each start). Restarts back off (doubling up to max_backoff_s) so
a peer that cannot start does not spin; one that stayed up 30 s is forgiven earlier crashes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from services.runtime.process_supervisor import ChildSpec, ProcessSupervisor

FIRST_BACKOFF_S = 0.2
HEALTHY_AFTER_S = 30.0
STOP_TIMEOUT_S = 5.0


@dataclass
class PeerSpec:
    name: str
    roles: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


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


def peer_command(data_dir: Path, spec: PeerSpec) -> list[str]:
    command = [sys.executable, "-m", "services.peers.cli", "peer", "--name", spec.name,
               "--data-dir", str(data_dir)]
    for role in spec.roles:
        command += ["--role", role]
    for address in known_addresses(data_dir, exclude=spec.name):
        command += ["--bootstrap", address]
    return command


def _child_spec(data_dir: Path, spec: PeerSpec) -> ChildSpec:
    address_file = addr_dir(data_dir) / f"{spec.name}.addr"
    # the address file is the readiness signal: a restarted peer writes its new one when serving
    return ChildSpec(spec.name, command=lambda: peer_command(data_dir, spec), env=dict(spec.env),
                     before_start=lambda: address_file.unlink(missing_ok=True))


class PeerSupervisor(ProcessSupervisor):
    def __init__(self, data_dir: Path, specs: list[PeerSpec], env: dict[str, str] | None = None,
                 max_backoff_s: float = 5.0, log_dir: Path | None = None,
                 local_operator: bool = True):
        """local_operator: issue each peer's credential from data_dir/admission/operator.key
        (the one-machine setup); False where the operator issued them already."""
        self.data_dir = Path(data_dir)
        self.local_operator = local_operator
        self.roles = {spec.name: spec.roles for spec in specs}
        super().__init__([_child_spec(self.data_dir, spec) for spec in specs], log_dir,
                         backoff_s=FIRST_BACKOFF_S, backoff_cap_s=max_backoff_s,
                         healthy_after_s=HEALTHY_AFTER_S, stop_timeout_s=STOP_TIMEOUT_S,
                         own_session=False, env=env)

    def start(self, timeout_s: float = 60.0) -> None:  # type: ignore[override]
        """Start the first peer, wait until it has an address, then the rest bootstrap from it."""
        addr_dir(self.data_dir).mkdir(parents=True, exist_ok=True)
        if self.local_operator:
            from services.peers.admission.local import admit_locally

            admit_locally(self.data_dir, self.roles)
        first, *rest = self.children
        super().start([first])
        self.wait_ready(timeout_s, [first])
        super().start(rest)

    def wait_ready(self, timeout_s: float = 60.0, names=None) -> bool:
        """Every named peer (default: all) has published its address."""
        files = [addr_dir(self.data_dir) / f"{name}.addr" for name in (names or self.children)]
        return self.wait_until(lambda: all(f.exists() for f in files), timeout_s)

    def run_forever(self, stop) -> None:
        self.start()
        self.run(stop)
        self.stop()
