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

from services.peers.anchoring import Web3BatchAnchor
from services.peers.roles.storage import StorageRole
from services.records import WindowInput, merkle

from .helpers import open_test_store

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


class _Node:
    """Just what StorageRole touches: a record store, settings, an rpc to register with."""

    def __init__(self, store):
        self.store = store
        self.settings = SimpleNamespace(anchor_batch_max=100)
        self.rpc = SimpleNamespace(register=lambda op, handler: None)


def test_anchor_pending__root_on_chain_and_proofs_kept(tmp_path, chain):
    store = open_test_store(tmp_path)
    owner = "0x" + "33" * 20
    store.register_device("dev-1", owner, b"\x01" * 32)
    refs = store.put_windows([WindowInput(owner, "dev-1", 10_000 * i, {"readings": [i]})
                              for i in range(5)])
    anchor = Web3BatchAnchor(chain.url, chain.contract.address, CUSTODIAN_KEY)
    role = StorageRole(_Node(store), anchor)

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
