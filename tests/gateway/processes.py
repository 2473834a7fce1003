"""Real processes for the gateway's server-level tests: `pulseledger gateway` (uvicorn) on free
loopback ports, configured only through its environment, and a Redis server of its own."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.gateway.chain_helpers import REPO, free_port

START_TIMEOUT_S = 300.0  # importing web3 & co. takes 20-40 s on a loaded 2-core machine


def gateway_env(chain, gateway_account, records_dir: Path, master_key: str,
                **settings: object) -> dict[str, str]:
    """The environment of one gateway process; `settings` are PULSELEDGER_GATEWAY_* values."""
    env = {**os.environ,
           "PULSELEDGER_GATEWAY_RPC_URL": chain.url,
           "PULSELEDGER_GATEWAY_DEPLOYMENTS": str(chain.deployments),
           "PULSELEDGER_GATEWAY_GATEWAY_KEY": gateway_account.key.to_0x_hex(),
           "PULSELEDGER_RECORDS_SQLITE_DIR": str(records_dir),
           "PULSELEDGER_RECORDS_MASTER_KEY": master_key,
           "PULSELEDGER_RECORDS_MASTER_KEY_FILE": "",
           "PULSELEDGER_RECORDS_WATCH_POLL_INTERVAL_S": "0.05",
           "PULSELEDGER_BLOBS_LOCAL_DIR": str(records_dir.parent / "blobs"),
           # confirmation links (never into the repository's own .pulseledger/)
           "PULSELEDGER_NOTIFY_BACKEND": "outbox",
           "PULSELEDGER_NOTIFY_OUTBOX_DIR": str(records_dir.parent / "outbox")}
    for name, value in settings.items():
        env[f"PULSELEDGER_GATEWAY_{name.upper()}"] = str(value)
    return env


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


class GatewayProcess:
    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        handle, name = tempfile.mkstemp(prefix="gateway-", suffix=".log")
        self._log = Path(name)
        with os.fdopen(handle, "wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services", "gateway", "--host", "127.0.0.1",
                 "--port", str(self.port)], cwd=REPO, env=env, stdout=log,
                stderr=subprocess.STDOUT)

    def wait_healthy(self) -> GatewayProcess:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited {self.process.returncode}: {self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"gateway not healthy in {START_TIMEOUT_S} s: {self.output()}")

    def output(self) -> str:
        return self._log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """SIGKILL: a replica dying mid-stream, with no chance to say goodbye."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        output = self.output()
        self._log.unlink(missing_ok=True)
        return output


class RedisServer:
    """Debian's redis-server on a free loopback port, nothing persisted (make setup installs it)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run `make setup`")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="redis-")
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self._dir, "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)
