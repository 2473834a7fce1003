"""Fixed facts of the test chain (anvil's default accounts) and the contracts the write path may
reach: arbitrary addresses are enough, a value transfer to one exercises the whole write path."""

CHAIN_ID = 31337
OTHER_CHAIN_ID = 1234  # 0x4d2: the chain a wrong upstream serves
# anvil's first two default accounts (public test keys, funded with 10k ETH on every anvil).
SENDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SENDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
# From the deployments file the tests write.
LEDGER_ADDRESS = "0x00000000000000000000000000000000000ab1e5"
# From the allowed_contracts setting.
EXTRA_ALLOWED_ADDRESS = "0x0000000000000000000000000000000000c0ffee"
NOT_ALLOWED_ADDRESS = "0x000000000000000000000000000000000badbeef"
# anvil's third default account: the viem script's sender, so its nonces never race the tests'.
VIEM_SENDER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"


def deployments_document(chain_id: int, contracts: dict[str, str]) -> dict:
    """The shape `ape run deploy` writes (services/chain/deployments.py)."""
    return {
        "network": "ethereum:local:node",
        "chain_id": chain_id,
        "genesis_hash": "0x" + "00" * 32,
        "deployment_block": 1,
        "deployer": "0x" + "00" * 20,
        "contracts": {
            name: {"address": address, "abi": f"abi/{name}.json", "block": 1, "tx": None}
            for name, address in contracts.items()
        },
    }
