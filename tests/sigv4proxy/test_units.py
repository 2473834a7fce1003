"""The pieces without servers: raw-transaction decoding, the deployments file, the shared rate
limiter across real forked processes, the client key both limits use, the CLI's refusal of a bad configuration."""

import json
import os

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils import to_checksum_address

from services.cli import main
from services.sigv4proxy import rawtx
from services.sigv4proxy.cli import proxy
from services.sigv4proxy.client_key import client_key
from services.sigv4proxy.contracts import DeploymentsError, load_write_targets
from services.sigv4proxy.ratelimit import SharedRateLimiter
from services.sigv4proxy.settings import ProxySettings

from .chain import LEDGER_ADDRESS, SENDER_KEY, deployments_document

TX = {"to": to_checksum_address(LEDGER_ADDRESS), "value": 1, "gas": 21_000, "nonce": 3}


def _raw(**fields) -> str:
    return "0x" + Account.sign_transaction({**TX, **fields}, SENDER_KEY).raw_transaction.hex()


@pytest.mark.parametrize(
    ("fields", "tx_type", "chain_id"),
    [
        ({"chainId": 5, "maxFeePerGas": 2, "maxPriorityFeePerGas": 1}, 2, 5),
        ({"chainId": 7, "gasPrice": 2, "accessList": []}, 1, 7),
        ({"chainId": 31337, "gasPrice": 2}, 0, 31337),
        ({"gasPrice": 2}, 0, None),
    ],
    ids=["eip1559", "eip2930", "legacy-eip155", "legacy-pre155"],
)
def test_decode__recipient_and_chain_id(fields, tx_type, chain_id):
    target = rawtx.decode(_raw(**fields))
    assert (target.to, target.chain_id, target.tx_type) == (LEDGER_ADDRESS, chain_id, tx_type)


def test_decode__contract_creation_has_no_recipient():
    raw = _raw(to=b"", data="0x6000", gas=100_000, chainId=1, gasPrice=2)
    assert rawtx.decode(raw).to is None


def _settings(**values) -> ProxySettings:
    return ProxySettings.model_validate(values)


def test_write_targets__file_and_setting_merged(tmp_path):
    path = tmp_path / "deployments.json"
    checksummed = to_checksum_address(LEDGER_ADDRESS)
    path.write_text(json.dumps(deployments_document(1338, {"PulseLedger": checksummed})))
    targets = load_write_targets(_settings(deployments=path, allowed_contracts=["0x" + "AB" * 20]))
    assert targets.chain_id == 1338
    assert targets.addresses == {LEDGER_ADDRESS, "0x" + "ab" * 20}


def _without_chain_id() -> str:
    document = deployments_document(1, {"PulseLedger": LEDGER_ADDRESS})
    del document["chain_id"]
    return json.dumps(document)


@pytest.mark.parametrize(
    ("content", "chain_id", "reason"),
    [
        ("{", None, "cannot read"),
        (_without_chain_id(), None, "cannot read"),
        (json.dumps(deployments_document(1, {"PulseLedger": "0x1"})), None, "no valid address"),
        (json.dumps(deployments_document(1, {"PulseLedger": LEDGER_ADDRESS})), 2, "differs"),
    ],
    ids=["not-json", "no-chain-id", "bad-address", "chain-id-conflict"],
)
def test_write_targets__bad_file__error(tmp_path, content, chain_id, reason):
    path = tmp_path / "deployments.json"
    path.write_text(content)
    with pytest.raises(DeploymentsError, match=reason):
        load_write_targets(_settings(deployments=path, chain_id=chain_id))


def test_write_targets__no_chain_id_anywhere__error():
    with pytest.raises(DeploymentsError):
        load_write_targets(_settings())


def test_rate_limiter__one_budget_across_forked_processes():
    limiter = SharedRateLimiter(per_second=0.001, burst=4, slots=1024)
    child = os.fork()
    if child == 0:  # spends three of the four tokens, then leaves without cleanup handlers
        os._exit(0 if all(limiter.allow("client")[0] for _ in range(3)) else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert limiter.allow("client")[0] is True
    allowed, retry_after = limiter.allow("client")
    assert allowed is False and retry_after > 0
    assert limiter.allow("another client")[0] is True


@pytest.mark.parametrize(
    ("forwarded_for", "hops", "expected"),
    [
        ("198.51.100.1", 0, "127.0.0.1"),  # no trusted balancer: the header is the client's own
        ("192.0.2.1, 198.51.100.1", 1, "198.51.100.1"),
        ("192.0.2.1,198.51.100.1,203.0.113.5", 2, "198.51.100.1"),
        ("198.51.100.1", 2, "127.0.0.1"),  # fewer entries than balancers: not trusted
        ("", 1, "127.0.0.1"),
        ("192.0.2.1, ", 1, "127.0.0.1"),  # an empty entry where the balancer's should be
    ],
)
def test_client_key__counted_from_the_right_of_forwarded_for(forwarded_for, hops, expected):
    assert client_key("127.0.0.1", forwarded_for, hops) == expected


def test_cli__proxy_listed_and_bad_configuration_refused(tmp_path, monkeypatch):
    assert main.get_command(None, "proxy") is proxy
    monkeypatch.delenv("PULSELEDGER_PROXY_CHAIN_ID", raising=False)
    monkeypatch.setenv("PULSELEDGER_PROXY_DEPLOYMENTS", str(tmp_path / "missing.json"))
    result = CliRunner().invoke(proxy, [])
    assert result.exit_code == 2
    assert "deployments file" in result.output


def test_cli__invalid_setting__reason_shown_secret_url_not(monkeypatch):
    secret_url = "https://node.example/v3/api-key-that-must-not-print"
    monkeypatch.setenv(
        "PULSELEDGER_PROXY_UPSTREAMS", json.dumps([{"url": secret_url, "auth": "bogus"}])
    )
    result = CliRunner().invoke(proxy, [])
    assert result.exit_code == 2
    assert "PULSELEDGER_PROXY_UPSTREAMS" in result.output
    assert "api-key-that-must-not-print" not in result.output
