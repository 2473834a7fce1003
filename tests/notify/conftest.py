import sys
from pathlib import Path

# The shared real-server helpers live in tests/pulseledger_testkit (a site package already owns `tests`).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from pulseledger_testkit.moto_server import MotoServer
from pulseledger_testkit.smtp_server import SmtpServer


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer().start()
    yield server
    server.stop()
