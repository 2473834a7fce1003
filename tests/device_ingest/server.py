"""The device endpoint as it runs for real — `pulseledger devices serve` (gunicorn) in its own
process on 127.0.0.1 — over a data directory whose record store and local queue the test reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from services.ingest.device_identity import DeviceKey
from services.ingest.queues.local import LocalQueue
from tests.peers.helpers import open_test_store
from tests.pulseledger_testkit.ports import free_port

OWNER = "0x" + "11" * 20
# Every test speaks for its own client address through X-Forwarded-For (the test process is the
# one trusted proxy), so the per-client budgets of one test never touch another's.
TEST_SETTINGS = {"TRUSTED_PROXIES": json.dumps(["127.0.0.1"]), "DEPTH_REFRESH_S": "0.05"}


class IngestServer:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, **settings: object):
        """`settings`: PULSELEDGER_DEVICE_INGEST_* by lower-case name; `env`: anything else
        (PULSELEDGER_INGEST_* validation limits, say)."""
        self.data_dir = data_dir
        self.store = open_test_store(data_dir)  # creates the master key before the server runs
        self.queue = LocalQueue(data_dir / "queue.db")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **(env or {}),
               **{f"PULSELEDGER_DEVICE_INGEST_{k.upper()}": str(v)
                  for k, v in {**TEST_SETTINGS, **settings}.items()}}
        self.log = (data_dir / "device-ingest.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services", "devices", "serve", "--port", str(self.port),
             "--data-dir", str(data_dir)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_healthy(90)

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the endpoint exited: {self.logs()[-2000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"the endpoint did not come up: {self.logs()[-2000:]}")

    def wait_behind(self, behind: bool, timeout_s: float = 30) -> dict:
        """Until the endpoint's own depth sample says the queue is (or is not) behind: its
        sample may be up to DEPTH_REFRESH_S old when the test changes the queue."""
        deadline = time.monotonic() + timeout_s
        while True:
            health = requests.get(self.url + "/healthz", timeout=10).json()
            if health["behind"] is behind or time.monotonic() > deadline:
                return health
            time.sleep(0.02)

    def logs(self) -> str:
        self.log.flush()
        return (self.data_dir / "device-ingest.log").read_text(errors="replace")

    def device(self, seed: bytes | None = None, register: bool = True) -> DeviceKey:
        key = DeviceKey.from_seed(seed) if seed else DeviceKey.generate()
        if register:
            self.store.register_device(key.user_id, OWNER, key.public_bytes)
        return key

    def post(self, body: bytes, client: str = "127.0.1.1", **headers) -> requests.Response:
        headers = {"Content-Type": "application/json", "X-Forwarded-For": client, **headers}
        return requests.post(self.url + "/v1/readings", data=body, headers=headers, timeout=30)

    def dead_letters(self) -> list[tuple[bytes, str]]:
        """(payload, reason) of every reading dead letter, oldest first."""
        return [(d.payload, d.reason) for d in self.store.dead_letters("reading")]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        self.queue.close()
        self.store.close()
        return self.process.returncode
