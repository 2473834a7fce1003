import sys
from pathlib import Path

# The shared real-server helpers live in tests/pulseledger_testkit (a site package already owns `tests`).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import subprocess

import pytest
from pulseledger_testkit.anvil import Anvil
from pulseledger_testkit.ledger import (
    deploy_pulseledger,
    onboard_contacts,
)
from pulseledger_testkit.smtp_server import SmtpServer


@pytest.fixture
def anvil():
    node = Anvil().start()
    yield node
    node.stop()


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pulseledger_compiled():
    """PulseLedger as `ape compile` leaves it (compiled here once if `make test` has not yet)."""
    from services.chain.artifacts import REPO_ROOT, ArtifactMissing, load_artifact

    try:
        load_artifact("PulseLedger")
    except ArtifactMissing:
        subprocess.run([str(Path(sys.executable).with_name("ape")), "compile"], cwd=REPO_ROOT,
                       check=True,
                       capture_output=True)
        load_artifact("PulseLedger")


@pytest.fixture
def pulse(anvil, pulseledger_compiled, tmp_path):
    """The real PulseLedger on a fresh anvil; account 0 owns it and is the gateway."""
    return deploy_pulseledger(anvil.url, tmp_path / "chain")


@pytest.fixture
def pulse_contacts(pulse, tmp_path):
    store = onboard_contacts(pulse, tmp_path)
    yield store
    store.close()
