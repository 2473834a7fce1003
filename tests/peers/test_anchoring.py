"""Storage anchoring against a real anvil on 127.0.0.1.

The contract is tests/peers/contracts/AnchorProbe.sol: the batch-anchoring surface of the
ledger's RecordRegistry (same function, errors, event), compiled with the project's solc shim,
so this test does not depend on the full PulseLedger build."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pulseledger_testkit.anvil import Anvil
from pulseledger_testkit.solidity import compile_contract
from web3 import Web3

from services.chain.deployments import ContractDeployment, Deployments, write_deployments
from services.peers.anchoring import DeploymentMismatch, Web3BatchAnchor
from services.peers.backends import open_anchor, records_settings
from services.peers.node import PeerNode
from services.peers.roles.storage import StorageRole
from services.records import ChainIdentity, WindowInput, merkle, open_store
from services.records.window_payload import sample_payload

from .helpers import open_test_store, peer_settings

# anvil's first default account (a public test key, funded on every anvil)
CUSTODIAN_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PROBE = Path(__file__).parent / "contracts/AnchorProbe.sol"


@pytest.fixture
def chain():
    node = Anvil().start()
    try:
        artifact = compile_contract(PROBE, "AnchorProbe")
        w3 = Web3(Web3.HTTPProvider(node.url))
        account = w3.eth.account.from_key(CUSTODIAN_KEY)
        factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = w3.eth.wait_for_transaction_receipt(
            factory.constructor().transact({"from": account.address}))
        contract = w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])
        w3.eth.wait_for_transaction_receipt(
            contract.functions.setCustodian(account.address, True).transact(
                {"from": account.address}))
        yield SimpleNamespace(url=node.url, contract=contract)
    finally:
        node.stop()


def _storage_role(store, anchor) -> StorageRole:
    """A storage role with just what anchoring touches: a record store, settings, an rpc to
    register with."""
    return StorageRole(settings=SimpleNamespace(anchor_batch_max=100),
                       rpc=SimpleNamespace(register=lambda op, handler: None), membership=None,
                       store=store, anchor=anchor)


def _stored_windows(store, owner: str, device: str, count: int):
    """`count` window records of one registered device, ten seconds apart."""
    store.register_device(device, owner, b"\x01" * 32)
    return store.put_windows([WindowInput(owner, device, 10_000 * i,
                                          sample_payload(i, device_id=device,
                                                         window_start_ms=10_000 * i))
                              for i in range(count)])


def test_anchor_pending__root_on_chain_and_proofs_kept(tmp_path, chain):
    store = open_test_store(tmp_path)
    refs = _stored_windows(store, "0x" + "33" * 20, "dev-1", 5)
    anchor = Web3BatchAnchor(chain.url, chain.contract.address, CUSTODIAN_KEY)
    role = _storage_role(store, anchor)

    anchored = trio.run(role.anchor_pending)

    assert anchored == 5
    assert store.pending_unbatched(100) == []
    root, proof = store.proof_of(refs[0].record_id)
    assert merkle.verify(refs[0].ciphertext_sha256, proof, root)
    on_chain = chain.contract.functions.batchAnchor(root).call()
    assert on_chain[1] == 5  # leafCount
    batch = store.get_batch(root)
    assert batch.anchor_tx == anchor.existing_anchor_tx(root)
    # A storage peer that died after the transaction retries with the same root: no revert,
    # the same transaction comes back.
    assert anchor.anchor_batch(root, 5) == batch.anchor_tx


def test_existing_anchor_tx__found_newest_first_in_pieces_a_proxy_accepts(tmp_path, chain):
    """A retried root is found by its event though the chain grew past many log pieces since
    (a proxy refuses wider reads); a root never anchored costs one view call, no log read."""
    store = open_test_store(tmp_path)
    refs = _stored_windows(store, "0x" + "34" * 20, "dev-2", 3)
    anchor = Web3BatchAnchor(chain.url, chain.contract.address, CUSTODIAN_KEY, log_block_range=3)
    trio.run(_storage_role(store, anchor).anchor_pending)
    root, _ = store.proof_of(refs[0].record_id)
    anchor.web3.provider.make_request("anvil_mine", [20])
    spans = []
    get_logs = anchor.web3.eth.get_logs
    anchor.web3.eth.get_logs = lambda params: spans.append(params) or get_logs(params)
    found = anchor.existing_anchor_tx(root)
    assert found == store.get_batch(root).anchor_tx
    assert spans and all(_block(p["toBlock"]) - _block(p["fromBlock"]) < 3 for p in spans)
    spans.clear()
    assert anchor.existing_anchor_tx(b"\x42" * 32) is None
    assert spans == []


def _block(value) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _write_deployments(path: Path, w3: Web3, address: str, chain_id: int | None = None) -> Path:
    """What `ape run deploy` writes (services/chain/deployments.py), for the probe contract."""
    write_deployments(Deployments(
        network="ethereum:local:node", chain_id=chain_id or w3.eth.chain_id,
        genesis_hash=w3.eth.get_block(0)["hash"].to_0x_hex(), deployment_block=1,
        deployer="0x" + "00" * 20,
        contracts={"PulseLedger": ContractDeployment(address, "abi/PulseLedger.json", 1)}), path)
    return path


def test_standalone_peer__anchors_against_the_deployments_file(tmp_path, chain, monkeypatch):
    """A storage peer given only a custodian key and PULSELEDGER_CHAIN_RPC_URL (as `pulseledger
    peer` would be) finds the ledger in data_dir/../deployments.json — the stack's layout — and
    its record store takes that deployment's namespace, the one the gateway reads."""
    monkeypatch.delenv("PULSELEDGER_CHAIN_DEPLOYMENTS", raising=False)
    monkeypatch.setenv("PULSELEDGER_CHAIN_RPC_URL", chain.url)
    w3 = Web3(Web3.HTTPProvider(chain.url))
    deployments = _write_deployments(tmp_path / "deployments.json", w3, chain.contract.address)
    data_dir = tmp_path / "peers"
    settings = peer_settings(data_dir, "s1", ["storage"], custodian_private_key=CUSTODIAN_KEY)
    assert settings.deployments_path() == deployments

    store = open_store(records_settings(data_dir, deployments))
    assert store.chain == ChainIdentity(w3.eth.chain_id, w3.eth.get_block(0)["hash"].to_0x_hex(),
                                        {"PulseLedger": chain.contract.address})
    refs = _stored_windows(store, "0x" + "44" * 20, "dev-2", 3)

    async def main():
        async with trio.open_nursery() as nursery:
            peer = PeerNode(settings)
            await nursery.start(peer.run)
            with trio.fail_after(60):
                while store.pending_unbatched(10) or store.proof_of(refs[0].record_id) is None:
                    await trio.sleep(0.2)
                root, _ = store.proof_of(refs[0].record_id)
                while store.get_batch(root).anchor_tx is None:
                    await trio.sleep(0.2)
            nursery.cancel_scope.cancel()
            return root

    root = trio.run(main)
    assert chain.contract.functions.batchAnchor(root).call()[1] == 3
    store.close()


def test_explicit_ledger_address__wins_over_the_deployments_file(tmp_path, chain, monkeypatch):
    monkeypatch.delenv("PULSELEDGER_CHAIN_DEPLOYMENTS", raising=False)
    w3 = Web3(Web3.HTTPProvider(chain.url))
    other = "0x" + "77" * 20
    _write_deployments(tmp_path / "deployments.json", w3, chain.contract.address)
    settings = peer_settings(tmp_path / "peers", "s1", ["storage"], chain_rpc_url=chain.url,
                             custodian_private_key=CUSTODIAN_KEY, ledger_address=other)
    assert open_anchor(settings).contract.address == Web3.to_checksum_address(other)
    from_file = open_anchor(settings.model_copy(update={"ledger_address": ""}))
    assert from_file.contract.address == chain.contract.address
    assert open_anchor(settings.model_copy(update={"custodian_private_key": ""})) is None


@pytest.mark.parametrize("stale", ["other chain", "no contract"])
def test_stale_deployments_file__refused_before_any_transaction(tmp_path, chain, stale):
    """A deployments file from another chain, or naming an address without code, would make
    anchorBatch a transaction that succeeds and anchors nothing: refused, nothing sent."""
    w3 = Web3(Web3.HTTPProvider(chain.url))
    address = chain.contract.address if stale == "other chain" else "0x" + "77" * 20
    deployments = _write_deployments(tmp_path / "deployments.json", w3, address,
                                     chain_id=999 if stale == "other chain" else None)
    settings = peer_settings(tmp_path / "peers", "s1", ["storage"], chain_rpc_url=chain.url,
                             custodian_private_key=CUSTODIAN_KEY, deployments_file=deployments)
    anchor = open_anchor(settings)
    sender = anchor.account.address
    nonce = w3.eth.get_transaction_count(sender)
    with pytest.raises(DeploymentMismatch, match="chain 999" if stale == "other chain"
                       else "no contract"):
        anchor.anchor_batch(b"\x05" * 32, 1)
    assert w3.eth.get_transaction_count(sender) == nonce
