import sys
from pathlib import Path

# The shared real-server helpers live in tests/pulseledger_testkit (a site package already owns `tests`).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from pulseledger_testkit.anvil import Anvil
from pulseledger_testkit.ledger import EVENT_SOURCE, DictContacts, deploy_event_source
from pulseledger_testkit.smtp_server import SmtpServer
from pulseledger_testkit.solidity import compile_contract


@pytest.fixture(scope="session")
def event_source_artifact():
    return compile_contract(EVENT_SOURCE, "EventSource")


@pytest.fixture
def anvil():
    node = Anvil().start()
    yield node
    node.stop()


@pytest.fixture
def ledger(anvil, event_source_artifact, tmp_path):
    return deploy_event_source(anvil.url, event_source_artifact, tmp_path / "chain")


@pytest.fixture
def contacts(ledger):
    return DictContacts(ledger.contacts())


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()
