"""Real processes for the proxy tests: anvil and the proxy under gunicorn, on free loopback ports.

The proxy's listening socket is bound here (port 0) and handed to gunicorn as `fd://N`, so no port
is ever guessed and parallel runs cannot collide."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
FOUNDRY_BIN = REPO / "node_modules/@foundry-rs/anvil-linux-amd64/bin"


def _wait(predicate, what: str, proc: subprocess.Popen, log_path: Path, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{log_path.read_text()[-3000:]}")
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start:\n{log_path.read_text()[-3000:]}")


class Anvil:
    def __init__(self, chain_id: int = 31337):
        binary = shutil.which("anvil", path=f"{FOUNDRY_BIN}:{os.environ.get('PATH', '')}")
        self._dir = Path(tempfile.mkdtemp(prefix="proxy-anvil-"))
        self.log_path = self._dir / "anvil.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", "--chain-id", str(chain_id)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        found = {}

        def listening() -> bool:
            match = re.search(r"Listening on 127\.0\.0\.1:(\d+)", self.log_path.read_text())
            if match:
                found["port"] = int(match.group(1))
            return bool(match)

        _wait(listening, "anvil", self.proc, self.log_path)
        self.url = f"http://127.0.0.1:{found['port']}/"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class ProxyProcess:
    """`pulseledger proxy` under real gunicorn, configured only through its environment."""

    def __init__(
        self,
        settings: dict,
        workers: int = 1,
        threads: int = 4,
        extra_env=None,
        entry_point=False,
        websocket=False,
    ):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(256)
        listener.set_inheritable(True)
        self.port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.ws_url = f"ws://127.0.0.1:{self.port}/"
        self._dir = Path(tempfile.mkdtemp(prefix="proxy-gunicorn-"))
        self.log_path = self._dir / "proxy.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PULSELEDGER_PROXY_", "AWS_", "PROMETHEUS_MULTIPROC_DIR"))
        }
        metrics_dir = self._dir / "metrics"
        metrics_dir.mkdir()
        env.update(
            {
                # Only the credentials a test hands over: no shared files, no instance metadata.
                "AWS_EC2_METADATA_DISABLED": "true",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "AWS_CONFIG_FILE": str(self._dir / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self._dir / "no-aws-credentials"),
                **(extra_env or {}),
            }
        )
        for key, value in settings.items():
            env[f"PULSELEDGER_PROXY_{key.upper()}"] = (
                value if isinstance(value, str) else json.dumps(value)
            )
        # `pulseledger proxy` itself, or the same command without the other services' imports.
        if websocket:
            command = [sys.executable, "-m", "services.sigv4proxy", "ws"]
        elif entry_point:
            command = [str(Path(sys.executable).parent / "pulseledger"), "proxy"]
        else:
            command = [sys.executable, "-m", "services.sigv4proxy"]
        command += ["--bind", f"fd://{listener.fileno()}"]
        if not websocket:
            command += ["--workers", str(workers), "--threads", str(threads)]
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                command, env=env, pass_fds=(listener.fileno(),), stdout=log, stderr=log
            )
        listener.close()
        _wait(self._answers, "proxy", self.proc, self.log_path)

    def _answers(self) -> bool:
        try:
            # The socket listens before gunicorn starts: this waits in the backlog until it serves.
            requests.get(self.url + "healthz", timeout=15)
            return True
        except requests.RequestException:
            return False

    def logs(self) -> str:
        return self.log_path.read_text()

    def signal_stop(self) -> None:
        """Ask gunicorn to exit (quick shutdown) without waiting; `stop()` reaps it later."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def stop(self) -> None:
        self.signal_stop()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
