"""The one process supervisor: starts child processes, restarts what dies (exponential backoff,
an optional failure budget), stops them all cleanly, and lets a test kill one.

Used by `pulseledger up` (the whole stack), `pulseledger peers up` and the tests' peer clusters,
and `pulseledger listen` (one daemon in the foreground). What a child is (a stack component, a
peer with bootstrap addresses, a listener daemon) is the caller's business: it hands over a
ChildSpec whose command may be computed at each start.

Children in their own session (own_session=True) do not see the terminal's Ctrl-C (we stop them
in reverse order) and get a parent-death signal, so nothing is left running even if the
supervisor is killed -9.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("services.runtime.process_supervisor")

PR_SET_PDEATHSIG = 1


@dataclass
class ChildSpec:
    name: str
    command: list[str] | Callable[[], list[str]]  # a callable is asked again at every (re)start
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's environment
    restart: bool = True
    one_shot: bool = False  # exit 0 means done (not restarted); a failure is retried
    final_exit_codes: frozenset[int] = frozenset()  # exits never restarted (a configuration error)
    before_start: Callable[[], None] | None = None  # run before every (re)start


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen | None = None
    restarts: int = 0
    last_exit: int | None = None
    next_start_at: float = 0.0
    started_at: float = 0.0
    next_backoff_s: float = 0.0
    given_up: bool = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def done(self) -> bool:
        return self.spec.one_shot and self.last_exit == 0

    @property
    def phase(self) -> str:
        """What a status view shows: running, done, restarting, failed (or not started)."""
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


class ProcessSupervisor:
    """log_dir: each child's stdout and stderr appended to log_dir/<name>.log; None: inherited
    (inherit_output) or discarded. max_restarts: None restarts for ever. healthy_after_s: a child
    that ran this long before dying earns a fresh backoff (None: backoff only grows)."""

    def __init__(self, specs: Iterable[ChildSpec], log_dir: Path | None = None, *,
                 max_restarts: int | None = None, backoff_s: float = 0.5,
                 backoff_cap_s: float = 10.0, healthy_after_s: float | None = None,
                 stop_timeout_s: float = 10.0, own_session: bool = True,
                 inherit_output: bool = False, env: dict[str, str] | None = None):
        self.children = {spec.name: Child(spec, next_backoff_s=backoff_s) for spec in specs}
        self.log_dir = log_dir
        self.max_restarts = max_restarts
        self.backoff_s, self.backoff_cap_s = backoff_s, backoff_cap_s
        self.healthy_after_s = healthy_after_s
        self.stop_timeout_s = stop_timeout_s
        self.own_session = own_session
        self.inherit_output = inherit_output
        self.env = dict(env or {})

    def start(self, names: Iterable[str] | None = None) -> None:
        """Start every child (or the named ones), in order."""
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in (self.children if names is None else names):
            self._spawn(self.children[name])

    def _spawn(self, child: Child) -> None:
        spec = child.spec
        if spec.before_start is not None:
            spec.before_start()
        command = spec.command() if callable(spec.command) else spec.command
        env = {**os.environ, **self.env, **spec.env}
        if self.log_dir is None:
            output = None if self.inherit_output else subprocess.DEVNULL
            child.process = self._popen(command, env, output)
        else:
            with open(self.log_dir / f"{spec.name}.log", "ab") as output:
                child.process = self._popen(command, env, output)
        child.started_at = time.monotonic()

    def _popen(self, command: list[str], env: dict[str, str], output) -> subprocess.Popen:
        # preexec_fn runs between fork and exec, where only async-signal-safe work is safe in a
        # process with threads: ours is one prctl call into an already loaded libc.
        detached = ({"start_new_session": True, "preexec_fn": _die_with_parent}
                    if self.own_session else {})
        return subprocess.Popen(command, env=env, stdout=output,
                                stderr=None if output is None else subprocess.STDOUT, **detached)

    def poll(self) -> None:
        """Restart what died, with exponential backoff and the failure budget; call this
        periodically. Children never started are left alone."""
        now = time.monotonic()
        for child in self.children.values():
            if child.running or child.given_up or child.done or child.process is None:
                continue
            if child.last_exit is None:
                self._exited(child, now)
                if child.given_up or child.done:
                    continue
            if now >= child.next_start_at:
                child.restarts += 1
                child.last_exit = None
                self._spawn(child)

    def _exited(self, child: Child, now: float) -> None:
        code = child.process.returncode
        child.last_exit = code
        if child.done:
            return
        if code in child.spec.final_exit_codes:
            log.error("%s exited with %d, a final exit: not restarting", child.spec.name, code)
            child.given_up = True
            return
        if not child.spec.restart or (self.max_restarts is not None
                                      and child.restarts >= self.max_restarts):
            child.given_up = True
            return
        if self.healthy_after_s is not None and now - child.started_at >= self.healthy_after_s:
            child.next_backoff_s = self.backoff_s
        delay = min(child.next_backoff_s, self.backoff_cap_s)
        child.next_backoff_s = min(self.backoff_cap_s, delay * 2)
        child.next_start_at = now + delay
        log.warning("%s exited with %d; restart %d in %.2fs", child.spec.name, code,
                    child.restarts + 1, delay)

    def wait_until(self, condition: Callable[[], bool], timeout_s: float,
                   interval_s: float = 0.1) -> bool:
        """Poll (restarting what dies) until condition() holds; False after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            self.poll()
            time.sleep(interval_s)
        return False

    def run(self, stopping: Callable[[], bool], interval_s: float = 0.2) -> None:
        """Poll until stopping() says so or every child has finished for good; leaves the
        children running (call stop())."""
        while not stopping():
            self.poll()
            if all(child.given_up or child.done for child in self.children.values()):
                return
            time.sleep(interval_s)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one child (tests: SIGKILL, SIGSTOP/SIGCONT); poll() restarts it if it dies."""
        process = self.children[name].process
        if process is not None:
            process.send_signal(sig)

    def pid(self, name: str) -> int | None:
        process = self.children[name].process
        return process.pid if process is not None else None

    def stop(self) -> None:
        """SIGTERM in reverse start order, then SIGKILL whatever outlives the timeout."""
        children = [c for c in reversed(self.children.values()) if c.process is not None]
        for child in children:
            self._signal(child.process, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for child in children:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(child.process, signal.SIGKILL)
                child.process.wait()
            if self.own_session:
                _signal_group(child.process.pid, signal.SIGKILL)  # stragglers of an exited leader

    def _signal(self, process: subprocess.Popen, signum: int) -> None:
        if self.own_session:
            # The whole group, even if its leader already died: its children must go too.
            _signal_group(process.pid, signum)
        elif process.poll() is None:
            process.send_signal(signum)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def run_in_foreground(spec: ChildSpec, *, backoff_s: float, backoff_cap_s: float,
                      healthy_after_s: float, stop_timeout_s: float = 30.0) -> int:
    """Keep one child running in this terminal until SIGTERM/SIGINT (then stop it) or a final
    exit; returns the exit code to exit with: the child's last one, 0 if it was not running
    when we were told to stop."""
    stopping = threading.Event()
    supervisor = ProcessSupervisor([spec], backoff_s=backoff_s, backoff_cap_s=backoff_cap_s,
                                   healthy_after_s=healthy_after_s,
                                   stop_timeout_s=stop_timeout_s, own_session=False,
                                   inherit_output=True)
    child = supervisor.children[spec.name]

    def request_stop(_signum, _frame) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    supervisor.start()
    while not stopping.is_set():
        supervisor.poll()
        if child.given_up or child.done:
            return child.last_exit if child.last_exit is not None else 0
        stopping.wait(0.05)
    was_running = child.running
    supervisor.stop()
    return child.process.returncode if was_running else 0
