"""Start and stop a local Firestore emulator on 127.0.0.1 (tests, benchmarks, `make up`).

Prefers the official one (`gcloud emulators firestore start`); falls back to npm
`@firestore-emulator/server` only where gcloud is absent (or when
`PULSELEDGER_FIRESTORE_EMULATOR=npm`): installed on first use with npm into
`.pulseledger/npm-firestore-emulator` and started by `firestore_emulator_npm.cjs`, which binds it
to 127.0.0.1 (the package's own `start()` binds every interface). The stand-in speaks gRPC only
and implements less (no composite filters beyond field filters, no reset endpoint).
The emulator runs in its own process group so that stopping it also stops the JVM gcloud spawns.
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


NPM_PACKAGE = "@firestore-emulator/server@0.3.15"


def _npm_dir(repo: Path) -> Path:
    directory = repo / ".pulseledger" / "npm-firestore-emulator"
    if not (directory / "node_modules" / "@firestore-emulator" / "server").exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(directory), "--no-audit", "--no-fund", NPM_PACKAGE],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return directory


def _command(port: int, repo: Path) -> tuple[list[str], bool]:
    """(argv, speaks HTTP) of the emulator to start."""
    choice = os.environ.get("PULSELEDGER_FIRESTORE_EMULATOR", "auto")
    if choice != "npm" and shutil.which("gcloud"):
        argv = ["gcloud", "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}"]
        return [*argv, "--quiet"], True
    if shutil.which("node") is None:
        raise RuntimeError("neither gcloud nor node found: cannot start a Firestore emulator")
    launcher = Path(__file__).with_name("firestore_emulator_npm.cjs")
    return ["node", str(launcher), str(_npm_dir(repo)), str(port)], False


def _ready(port: int, http: bool) -> bool:
    if not http:  # gRPC only: listening is ready
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_emulator(timeout_s: float = 60.0, log_path: Path | None = None) -> FirestoreEmulator:
    port = free_port()
    repo = Path(__file__).resolve().parents[2]
    argv, http = _command(port, repo)
    log = open(log_path or os.devnull, "wb")  # noqa: SIM115 — owned by the child
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=repo
    )
    emulator = FirestoreEmulator(f"127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Firestore emulator exited with {process.returncode}")
        if _ready(port, http):
            return emulator
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
