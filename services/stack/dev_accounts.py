"""anvil's well-known development accounts (mnemonic `test test … junk`): public test keys, funded
on every local anvil, never to be used on a real network."""

from eth_account import Account
from eth_account.signers.local import LocalAccount

DEV_MNEMONIC = "test test test test test test test test test test test junk"

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


GATEWAY_INDEX, CUSTODIAN_INDEX, REQUESTER_INDEX, MARKET_CUSTODIAN_INDEX = 0, 1, 2, 3
