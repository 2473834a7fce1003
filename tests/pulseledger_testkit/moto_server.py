"""moto in server mode on 127.0.0.1 (a subprocess), with a reader for the mail SES accepted."""

from __future__ import annotations

import subprocess
import sys

import requests

from pulseledger_testkit.ports import free_port, wait_for_port


class MotoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def sent_raw_messages(self) -> list[dict]:
        """Every message SES accepted, as moto reports them (`GET /moto-api/data.json`)."""
        data = requests.get(f"{self.url}/moto-api/data.json", timeout=10).json()
        return list(data.get("ses", {}).get("RawMessage", []))
