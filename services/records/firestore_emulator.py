"""Start and stop a local Firestore emulator on 127.0.0.1 (tests, benchmarks, `make up`).

Prefers the official one (`gcloud emulators firestore start`); falls back to npm
`@firestore-emulator/server` only where gcloud is absent. The emulator runs in its own process
group so that stopping it also stops the JVM that gcloud spawns.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Self


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FirestoreEmulator:
    host: str  # "127.0.0.1:PORT", the value for FIRESTORE_EMULATOR_HOST
    process: subprocess.Popen

    def stop(self) -> None:
        """SIGTERM the whole group (gcloud and its JVM), wait until none is left, then SIGKILL."""
        group = self.process.pid
        if not _group_alive(group):
            return
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.process.poll()  # reap our direct child so it does not linger as a zombie
            if not _group_alive(group):
                return
            time.sleep(0.05)
        os.killpg(group, signal.SIGKILL)
        self.process.wait(timeout=10)

    def reset(self, project: str) -> None:
        """Delete every document of `project` (emulator-only endpoint)."""
        url = f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10).read()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _command(port: int, repo: Path) -> list[str]:
    if shutil.which("gcloud"):
        return [
            "gcloud",
            "emulators",
            "firestore",
            "start",
            f"--host-port=127.0.0.1:{port}",
            "--quiet",
        ]
    npx = shutil.which("npx")
    if npx is None:
        raise RuntimeError("neither gcloud nor npx found: cannot start a Firestore emulator")
    return [npx, "--yes", "@firestore-emulator/server", "--host", "127.0.0.1", "--port", str(port)]


def start_emulator(timeout_s: float = 60.0, log_path: Path | None = None) -> FirestoreEmulator:
    port = free_port()
    repo = Path(__file__).resolve().parents[2]
    log = open(log_path or os.devnull, "wb")  # noqa: SIM115 — owned by the child
    process = subprocess.Popen(
        _command(port, repo),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=repo,
    )
    emulator = FirestoreEmulator(f"127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Firestore emulator exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
                if resp.status == 200:
                    return emulator
        except OSError:
            time.sleep(0.1)
    emulator.stop()
    raise RuntimeError("Firestore emulator did not become ready in time")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # zombies still count as group members until reaped; ask /proc who is really running
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
