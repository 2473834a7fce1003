"""The fork suite runs on `ethereum:upstream-fork:foundry`: a fork of an upstream anvil to which
`ape run deploy` deployed PulseLedger (tools/run-fork-suite.sh sets both environment variables)."""

import os

import pytest
from ape import accounts, project
from web3 import Web3

from services.chain.deployments import load_deployments


@pytest.fixture(scope="session")
def deployments():
    return load_deployments(os.environ["PULSELEDGER_FORK_DEPLOYMENTS"])


@pytest.fixture(scope="session")
def upstream():
    """A direct connection to the upstream chain, to prove the fork never writes to it."""
    return Web3(Web3.HTTPProvider(os.environ["PULSELEDGER_FORK_UPSTREAM"]))


@pytest.fixture(scope="session")
def ledger(deployments):
    return project.PulseLedger.at(deployments.address())


@pytest.fixture(scope="session")
def deployer():
    return accounts.test_accounts[0]


@pytest.fixture(scope="session")
def custodian():
    return accounts.test_accounts[1]


@pytest.fixture(scope="session")
def patient():
    return accounts.test_accounts[2]


@pytest.fixture(scope="session")
def requester():
    return accounts.test_accounts[3]
