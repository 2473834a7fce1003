"""Send a contract call from a local key and wait for it, as a user's wallet would."""

from __future__ import annotations

from web3 import Web3


class TransactionFailed(RuntimeError):
    pass


def send(w3: Web3, account, function, value: int = 0, timeout_s: float = 30.0):
    tx = function.build_transaction({
        "from": account.address, "value": value, "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address, "pending")})
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout_s, poll_latency=0.1)
    if receipt["status"] != 1:
        raise TransactionFailed(f"{function.fn_name} reverted (tx {tx_hash.to_0x_hex()})")
    return receipt


def fund_on_dev_chain(w3: Web3, address: str, wei: int = 10**20) -> None:
    """anvil only: give a demo account gas money without a faucet."""
    w3.provider.make_request("anvil_setBalance", [address, hex(wei)])
