import json

import pytest
import requests

from .chain import (
    CHAIN_ID,
    EXTRA_ALLOWED_ADDRESS,
    LEDGER_ADDRESS,
    OTHER_CHAIN_ID,
    deployments_document,
)
from .processes import Anvil, ProxyProcess
from .sigv4_verifier import Credentials
from .upstream_server import TestUpstream

TEST_CREDENTIALS = Credentials(
    access_key="AKIAPULSELEDGERTEST1",
    secret_key="pulseledger/test/secret/key/never+shown+anywhere",
    region="us-east-1",
    service="managedblockchain",
)
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS.access_key,
    "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS.secret_key,
}
ALLOWED_ORIGIN = "https://dapp.pulseledger.test"
MAX_LOG_RANGE = 10


@pytest.fixture(scope="session")
def anvil():
    node = Anvil()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def other_chain_anvil():
    """A node on another chain (1234): what a provider points at after a DNS or config change."""
    node = Anvil(chain_id=OTHER_CHAIN_ID)
    yield node
    node.stop()


@pytest.fixture(scope="session")
def deployments_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("deploy") / "deployments.json"
    path.write_text(json.dumps(deployments_document(CHAIN_ID, {"PulseLedger": LEDGER_ADDRESS})))
    return path


@pytest.fixture(scope="session")
def signed_upstream(anvil):
    """Amazon Managed Blockchain's stand-in: verifies SigV4, then forwards to anvil."""
    upstream = TestUpstream(forward_to=anvil.url, sigv4=TEST_CREDENTIALS)
    yield upstream
    upstream.stop()


def base_settings(deployments_file, **overrides) -> dict:
    settings = {
        "deployments": str(deployments_file),
        "allowed_contracts": [EXTRA_ALLOWED_ADDRESS],
        "max_log_block_range": MAX_LOG_RANGE,
        "cors_origins": [ALLOWED_ORIGIN],
        "rate_limit_burst": 100_000,
        "rate_limit_per_second": 100_000,
        "health_interval_seconds": 60,
        "head_cache_seconds": 0,  # every tag is resolved against the head of this very moment
        "upstream_timeout_seconds": 5,
    }
    settings.update(overrides)
    return settings


@pytest.fixture(scope="session")
def sigv4_proxy(signed_upstream, deployments_file):
    """The proxy in SigV4 mode under gunicorn, in front of the verifying upstream and anvil."""
    upstream = {
        "url": signed_upstream.url,
        "name": "amb",
        "auth": "sigv4",
        "aws_region": TEST_CREDENTIALS.region,
    }
    proxy = ProxyProcess(
        base_settings(deployments_file, upstreams=[upstream]),
        workers=2,
        extra_env=AWS_ENV,
        entry_point=True,  # through `pulseledger proxy`, as deployed
    )
    yield proxy
    proxy.stop()
    proxy.cleanup()


@pytest.fixture(scope="session")
def _stopping_proxies():
    """Proxies told to stop but not yet reaped: their shutdown overlaps the next tests."""
    stopping: list[ProxyProcess] = []
    yield stopping
    for proxy in stopping:
        proxy.stop()
        proxy.cleanup()


@pytest.fixture
def start_proxy(deployments_file, _stopping_proxies):
    """Factory for proxies with their own settings; all told to stop when the test ends."""
    started = []

    def start(workers: int = 1, extra_env=None, **overrides) -> ProxyProcess:
        proxy = ProxyProcess(
            base_settings(deployments_file, **overrides), workers, extra_env=extra_env
        )
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.signal_stop()
        _stopping_proxies.append(proxy)


def rpc(url: str, method: str, params=None, request_id=1, **kwargs) -> requests.Response:
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}
    return requests.post(url, json=body, timeout=10, **kwargs)
