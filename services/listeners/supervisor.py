"""Keeps a daemon process running: restarts it with backoff when it dies (the node disappeared,
exit 75, or a crash), forwards SIGTERM/SIGINT, and gives up only on a configuration error.

A process supervisor such as systemd (Restart=on-failure, RestartPreventExitStatus=78) does the
same job; this one makes `pulseledger listen` self-sufficient on a laptop."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

from services.listeners.daemon import EXIT_CONFIG, EXIT_OK

log = logging.getLogger("services.listeners.supervisor")

HEALTHY_RUN_S = 60.0  # a child that ran this long earns a fresh backoff


def daemon_command(which: str) -> list[str]:
    return [sys.executable, "-m", "services.listeners.daemon", which]


def supervise(command: list[str], restart_initial_s: float, restart_max_s: float) -> int:
    stopping = threading.Event()
    child: subprocess.Popen | None = None

    def forward(signum, _frame):
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    delay = restart_initial_s
    restarts = 0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping.is_set():
            return code
        if code == EXIT_CONFIG:
            log.error("daemon reported a configuration error (exit %d): not restarting", code)
            return code
        if time.monotonic() - started >= HEALTHY_RUN_S:
            delay = restart_initial_s
        restarts += 1
        log.warning("daemon exited with %d; restart %d in %.2fs", code, restarts, delay)
        if stopping.wait(delay):
            return EXIT_OK
        delay = min(restart_max_s, delay * 2)
