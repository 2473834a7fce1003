"""Runs the system's processes: starts them in order, restarts what dies, stops all cleanly.

Children get their own session (Ctrl-C in the terminal reaches only us, and we stop them in reverse
order) and a parent-death signal, so nothing is left running even if the supervisor is killed -9.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1


@dataclass
class Component:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None
    metrics_url: str | None = None
    restart: bool = True
    one_shot: bool = False  # an actor: exit 0 means done (not restarted); a failure is retried
    await_done: bool = True  # one-shot: the system is ready only once it is done (else: started)


@dataclass
class ComponentState:
    component: Component
    process: subprocess.Popen | None = None
    restarts: int = 0
    last_exit: int | None = None
    next_start_at: float = 0.0
    given_up: bool = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def done(self) -> bool:
        return self.component.one_shot and self.last_exit == 0

    @property
    def phase(self) -> str:
        """What the status view shows: running, done, restarting, failed (or not started)."""
        if self.process is None:
            return "not started"
        if self.running:
            return "running"
        if self.done:
            return "done"
        return "failed" if self.given_up else "restarting"


_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded here: no dlopen in a forked child


def _die_with_parent() -> None:
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, components: list[Component], log_dir: Path, *, max_restarts: int = 5,
                 backoff_s: float = 0.5, backoff_cap_s: float = 10.0, stop_timeout_s: float = 10.0):
        self.states = [ComponentState(c) for c in components]
        self.log_dir = log_dir
        self.max_restarts = max_restarts
        self.backoff_s, self.backoff_cap_s = backoff_s, backoff_cap_s
        self.stop_timeout_s = stop_timeout_s

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for state in self.states:
            self._spawn(state)

    def _spawn(self, state: ComponentState) -> None:
        component = state.component
        with open(self.log_dir / f"{component.name}.log", "ab") as log:
            # preexec_fn runs between fork and exec, where only async-signal-safe work is safe
            # in a process with threads: ours is one prctl call into an already loaded libc.
            state.process = subprocess.Popen(
                component.command, env={**os.environ, **component.env}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)  # noqa: PLW1509

    def poll(self) -> None:
        """Restart what died, with exponential backoff and a failure budget."""
        now = time.monotonic()
        for state in self.states:
            if state.running or state.given_up or state.done or state.process is None:
                continue
            if state.last_exit is None:
                state.last_exit = state.process.returncode
                if state.done:
                    continue
                if not state.component.restart or state.restarts >= self.max_restarts:
                    state.given_up = True
                    continue
                delay = min(self.backoff_s * 2 ** state.restarts, self.backoff_cap_s)
                state.next_start_at = now + delay
            if now >= state.next_start_at:
                state.restarts += 1
                state.last_exit = None
                self._spawn(state)

    def stop(self) -> None:
        """SIGTERM in reverse start order, then SIGKILL whatever outlives the timeout."""
        for state in reversed(self.states):
            if state.process is not None:
                # The whole group, even if its leader already died: its children must go too.
                _signal_group(state.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for state in reversed(self.states):
            if state.process is None:
                continue
            try:
                state.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(state.process.pid, signal.SIGKILL)
                state.process.wait()
            _signal_group(state.process.pid, signal.SIGKILL)  # stragglers of an exited leader


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
