"""A local anvil process: started on 127.0.0.1, ready when it answers, stopped cleanly."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import requests

from services.stack.binaries import foundry_binary


class AnvilError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Anvil:
    port: int
    host: str = "127.0.0.1"
    block_time_s: int | None = None
    chain_id: int | None = None
    state_file: Path | None = None
    state_interval_s: int | None = None
    extra_args: list[str] = field(default_factory=list)
    log_file: Path | None = None
    _process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, ready_timeout_s: float = 20.0) -> Anvil:
        args = [foundry_binary("anvil"), "--host", self.host, "--port", str(self.port)]
        if self.block_time_s:
            args += ["--block-time", str(self.block_time_s)]
        if self.chain_id:
            args += ["--chain-id", str(self.chain_id)]
        if self.state_file:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--state", str(self.state_file)]
            if self.state_interval_s:
                args += ["--state-interval", str(self.state_interval_s)]
        args += self.extra_args
        if self.log_file:
            with open(self.log_file, "ab") as log:  # the child keeps its own descriptor
                self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        else:
            self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.STDOUT)
        self._wait_ready(ready_timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AnvilError(f"anvil exited with {self._process.returncode} (port {self.port} taken?)")
            try:
                requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                              timeout=1).raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.url} within {timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM first: anvil dumps its state file on a clean exit."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Self:
        return self.start() if self._process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
