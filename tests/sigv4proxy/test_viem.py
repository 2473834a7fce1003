"""viem, as the dapp will use it, through the SigV4 proxy under gunicorn: reads chain state, sends
a locally signed raw transaction to an allowed contract, and meets a refusal for eth_accounts."""

import json
import shutil
import subprocess
from pathlib import Path

import requests
from eth_account import Account

from .chain import CHAIN_ID, LEDGER_ADDRESS, VIEM_SENDER_KEY

SCRIPT = Path(__file__).with_name("viem_client.mjs")


def test_viem__reads_and_sends_raw_transaction_through_proxy(sigv4_proxy, signed_upstream, anvil):
    node = shutil.which("node")
    assert node, "node is required (it runs the dapp's toolchain too)"
    sender = Account.from_key(VIEM_SENDER_KEY)  # only to know its address
    result = subprocess.run(
        [node, str(SCRIPT), sigv4_proxy.url, VIEM_SENDER_KEY, LEDGER_ADDRESS],
        check=False,  # the return code is asserted with stderr shown
        capture_output=True,
        text=True,
        timeout=30,
        cwd=SCRIPT.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["chainId"] == CHAIN_ID
    assert out["status"] == "success"
    assert out["from"].lower() == sender.address.lower()
    assert out["to"].lower() == LEDGER_ADDRESS
    assert int(out["balanceAfter"]) == int(out["balanceBefore"]) + 7
    # viem reads the JSON-RPC error body of the 403 and names it.
    assert out["denied"] == {"name": "MethodNotFoundRpcError", "code": -32601}

    # The transaction went through the signing upstream, and anvil has it.
    assert "eth_sendRawTransaction" in signed_upstream.methods()
    receipt = requests.post(
        anvil.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getTransactionReceipt",
            "params": [out["hash"]],
        },
        timeout=5,
    ).json()["result"]
    assert int(receipt["status"], 16) == 1
