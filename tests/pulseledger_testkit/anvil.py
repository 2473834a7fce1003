"""A real anvil on 127.0.0.1 on a free port (a subprocess)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import requests

from pulseledger_testkit.ports import free_port

REPO = Path(__file__).resolve().parents[2]
FOUNDRY_BIN = REPO / "node_modules/@foundry-rs/anvil-linux-amd64/bin"


def anvil_binary() -> str:
    found = shutil.which("anvil", path=f"{FOUNDRY_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        raise RuntimeError("anvil not found: run `make setup`")
    return found


class Anvil:
    def __init__(self, block_time: float | None = None) -> None:
        self.port = free_port()
        self.block_time = block_time
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Anvil:
        args = [anvil_binary(), "--host", "127.0.0.1", "--port", str(self.port), "--silent",
                "--chain-id", "31337"]
        if self.block_time is not None:
            args += ["--block-time", str(self.block_time)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.rpc("eth_chainId")
                return self
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("anvil did not start")

    def rpc(self, method: str, *params):
        reply = requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                              "params": list(params)}, timeout=10).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
