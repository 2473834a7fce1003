"""Log reads over a chain longer than one eth_getLogs may span, through our real SigV4 proxy
(`pulseledger proxy` under gunicorn, its default `max_log_block_range` of 2,000) in front of a real
anvil with 2,500 blocks mined after the purchase: the buyer's read (AccessLogged), the FHIR audit
export (contract events), the market custodian's CustodianAuthorized scan, the status board's
event count and the demo sale's search for a heart-rate bundle all still work."""

from __future__ import annotations

import base64
import os

import pytest
import requests
from eth_account import Account
from pydantic import SecretStr
from web3 import Web3

from services.chain.log_ranges import chunked_logs, log_ranges
from services.gateway.app import create_app
from services.gateway.ledger import Ledger
from services.gateway.settings import GatewaySettings
from services.gateway.wiring import chain_identity
from services.market.custodian import Custodian
from services.market.documents import HEART_RATE_WINDOWS
from services.market.settings import MarketSettings
from services.records import RecordsSettings, open_store
from services.stack.demo_sale import first_record
from services.stack.status_board import ChainEvents
from tests.gateway.chain_helpers import deploy, start_anvil
from tests.gateway.conftest import DOMAIN, URI, Market, bearer, sign_in
from tests.sigv4proxy.processes import ProxyProcess

PROXY_RANGE = 2_000  # the proxy's default max_log_block_range, and the services' default span
MINED_AFTER = 2_500  # > PROXY_RANGE
LONG_AGO: dict[str, str] = {}  # the heart-rate bundle registered before the 2,500 blocks


@pytest.fixture(scope="module")
def long_chain(tmp_path_factory):
    anvil, url = start_anvil()
    work = tmp_path_factory.mktemp("long-chain")
    gateway = Account.create()
    chain = deploy(url, gateway.address, work)
    chain.w3.provider.make_request("anvil_setBalance", [gateway.address, hex(10**21)])
    direct = GatewaySettings(rpc_url=url, deployments=chain.deployments)
    store = open_store(RecordsSettings(
        sqlite_dir=work / "records", master_key_file=None, create_master_key=False,
        master_key=SecretStr(base64.b64encode(os.urandom(32)).decode())),
        chain_identity(Ledger(direct)))
    sale = Market(chain, store).sale()
    custodian = Account.create()
    chain.send(sale.patient, chain.contract.functions.authorizeCustodian(custodian.address, True))
    # A heart-rate bundle of a patient of its own, so no other test here sees its events.
    heart_rate_patient = chain.fund()
    heart_rate_record = Market(chain, store).register(
        heart_rate_patient, HEART_RATE_WINDOWS, b'{"windows": "2026-11"}')
    LONG_AGO.update(patient=heart_rate_patient.address, record_id=heart_rate_record)
    chain.w3.provider.make_request("anvil_mine", [hex(MINED_AFTER)])
    proxy = ProxyProcess({"deployments": str(chain.deployments),
                          "upstreams": [{"url": url, "name": "anvil"}],
                          "rate_limit_burst": 100_000, "rate_limit_per_second": 100_000,
                          "head_cache_seconds": 0})
    settings = GatewaySettings(
        rpc_url=proxy.url, deployments=chain.deployments, confirmations=2,
        gateway_key=SecretStr(gateway.key.to_0x_hex()), session_secret=SecretStr("long-chain"),
        domain=DOMAIN, uri=URI, tx_timeout_s=10)
    ledger = Ledger(settings)
    try:
        yield chain, store, sale, custodian, proxy, ledger, settings
    finally:
        proxy.stop()
        proxy.cleanup()
        store.close()
        anvil.terminate()
        anvil.wait(timeout=10)


def test_proxy__one_call_from_deployment__refused(long_chain):
    """What every service did before: one eth_getLogs from the deployment to the head."""
    chain, *_, proxy, ledger, _ = long_chain
    answer = requests.post(proxy.url, timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [{
            "address": chain.contract.address,
            "fromBlock": hex(ledger.deployments.deployment_block), "toBlock": "latest"}]})
    assert answer.status_code == 400 and "exceeds 2000" in answer.json()["error"]["message"]


def test_buyer_read__access_logged_2500_blocks_ago__served_through_proxy(long_chain):
    _, store, sale, _, _, ledger, settings = long_chain
    client = create_app(settings, ledger=ledger, store=store).test_client()
    token = sign_in(client, sale.buyer)
    for _ in range(2):  # the first confirms delivery through the proxy, the second is cached
        response = client.get(f"/records/{sale.record_id}",
                              query_string={"purchase_id": sale.purchase_id},
                              headers=bearer(token))
        assert response.status_code == 200, response.get_json()
        assert response.data == sale.plaintext


def test_buyer_read__stranger__refused_without_scanning(long_chain):
    _, store, sale, _, _, ledger, settings = long_chain
    client = create_app(settings, ledger=ledger, store=store).test_client()
    token = sign_in(client, Account.create())
    response = client.get(f"/records/{sale.record_id}",
                          query_string={"purchase_id": sale.purchase_id}, headers=bearer(token))
    assert response.status_code == 403
    assert response.get_json()["error"] == "not_your_purchase"


def test_fhir_audit_events__deployment_to_head__through_proxy(long_chain):
    _, store, sale, _, _, ledger, settings = long_chain
    client = create_app(settings, ledger=ledger, store=store).test_client()
    token = sign_in(client, sale.patient)
    owner = sale.patient.address
    response = client.get(f"/patients/{owner}/fhir/audit-events", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    [entry] = response.get_json()["entry"]
    assert entry["resource"]["resourceType"] == "AuditEvent"
    assert entry["resource"]["entity"][0]["what"]["identifier"]["value"] == sale.record_id


def test_custodian__authorisation_2500_blocks_ago__found_through_proxy(long_chain):
    chain, store, sale, custodian_account, proxy, _, _ = long_chain
    through_proxy = Web3(Web3.HTTPProvider(proxy.url))
    ledger = through_proxy.eth.contract(address=chain.contract.address, abi=chain.contract.abi)
    custodian = Custodian(store, ledger, custodian_account, MarketSettings(),
                          deployment_block=1)
    assert custodian.patients() == [sale.patient.address.lower()]


def _through_proxy(chain, proxy):
    w3 = Web3(Web3.HTTPProvider(proxy.url))
    return w3, w3.eth.contract(address=chain.contract.address, abi=chain.contract.abi)


def test_status_board_events__deployment_to_head__counted_through_proxy(long_chain):
    chain, *_, proxy, ledger, _ = long_chain
    w3, _ = _through_proxy(chain, proxy)
    deployed = ledger.deployments.deployment_block
    events = ChainEvents(w3, chain.contract.address, deployed, span=PROXY_RANGE)
    head = w3.eth.block_number
    # The reference: one unbounded read straight from anvil, which has no range limit.
    every_log = chain.w3.eth.get_logs({"address": chain.contract.address,
                                       "fromBlock": deployed, "toBlock": head})
    assert events.refresh() == len(every_log) > 0
    assert events.from_block > head  # read to the head it saw: the next refresh starts after it
    assert events.market["sales"] == 1 and events.market["records"] >= 2


def test_demo_sale_record_search__2500_blocks_back__through_proxy(long_chain):
    chain, *_, proxy, ledger, _ = long_chain
    _, contract = _through_proxy(chain, proxy)
    found = first_record(contract, ledger.deployments.deployment_block, LONG_AGO["patient"],
                         PROXY_RANGE)
    assert found == LONG_AGO["record_id"]
    nobody = Account.create().address
    assert first_record(contract, ledger.deployments.deployment_block, nobody, PROXY_RANGE) is None


def test_log_ranges__cover_once_in_bounded_pieces():
    for newest_first in (False, True):
        pieces = list(log_ranges(7, 5_006, 2_000, newest_first=newest_first))
        assert all(end - start + 1 <= 2_000 for start, end in pieces)
        covered = sorted(b for start, end in pieces for b in range(start, end + 1))
        assert covered == list(range(7, 5_007))
    assert list(log_ranges(5, 4, 10)) == []
    assert chunked_logs(lambda a, b: [(a, b)], 0, 4_500, 2_000) == [
        (0, 1_999), (2_000, 3_999), (4_000, 4_500)]
    with pytest.raises(ValueError):
        list(log_ranges(0, 1, 0))
