"""What the gateway asks of and sends to the chain (web3.py on the shared deployments loader).

Reads: consent (`isAllowed`, `isInForce`, `getRequest`), purchases, the record registry, AccessLogged events with
the configured confirmations. Writes, from the gateway's own account: `confirmDelivery` and relayed
`decideBySig`. Transactions are simulated first so a revert becomes a clear 4xx instead of a
mined failure.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception

from services.chain.connection import Chain
from services.chain.enums import ConsentStatus, PurchaseStatus
from services.chain.log_ranges import contract_event_logs
from services.gateway.block_times import BlockTimes
from services.gateway.buyer_views import BuyerViews
from services.gateway.chain_reads import RawReads, RevertedCall, abi_type
from services.gateway.errors import BadRequest, Unavailable
from services.gateway.settings import GatewaySettings

PURCHASE_PAID, PURCHASE_DELIVERED, PURCHASE_REFUNDED = (
    PurchaseStatus.PAID, PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED)
CONSENT_STATUS = {status.value: status.name.lower() for status in ConsentStatus}
DECISIONS = {"approve": 1, "deny": 2, "revoke": 3}


@dataclass(frozen=True)
class TxResult:
    tx_hash: str
    block_number: int
    status: int


class ChainReverted(BadRequest):
    """The contract refused (simulation reverted): the custom error's name is the reason."""

    code = "chain_reverted"


class Ledger:
    def __init__(self, settings: GatewaySettings):
        self._settings = settings
        # cache_allowed_requests: eth_chainId and friends once, not before every call.
        self.chain = Chain.open(settings.chain(), cache_allowed_requests=True)
        self.confirmations: int = self.chain.settings.confirmations
        self.w3, self.deployments = self.chain.w3, self.chain.deployments
        self.contract = self.chain.ledger
        self.chain_id = self.deployments.chain_id
        key = settings.gateway_key.get_secret_value() if settings.gateway_key else None
        self._account = Account.from_key(key) if key else None
        self._send_lock = threading.Lock()
        self._block_times = BlockTimes(self._read_block_timestamp)
        self._error_names = _custom_error_selectors(self.contract.abi)
        # ABI lookups by name are slow in web3 7: resolve each function and its outputs once.
        self._functions = {entry["name"]: self.contract.get_function_by_name(entry["name"])
                           for entry in self.contract.abi if entry.get("type") == "function"}
        # The buyer check's reads skip web3's per-call overhead (see chain_reads.py).
        self._reads = RawReads(self.chain.settings.rpc_url, self.chain.settings.request_timeout_s,
                               self.contract.address, self.contract.abi)
        self._buyer_views = BuyerViews(
            self._reads, self._raw, address=self.contract.address,
            deployment_block=self.deployments.deployment_block,
            confirmations=self.confirmations,
            log_block_range=self.chain.settings.log_block_range,
            lookback_blocks=settings.log_lookback_blocks,
            cache_entries=settings.read_cache_entries)

    @property
    def gateway_address(self) -> str | None:
        return self._account.address if self._account else None

    # --- reads -------------------------------------------------------------------------------
    def is_allowed(self, patient: str, requester: str, data_class: int) -> bool:
        return bool(self._call("isAllowed", patient, requester, data_class))

    def get_request(self, request_id: int) -> dict[str, Any]:
        return self._struct("getRequest", request_id)

    def get_purchase(self, purchase_id: int) -> dict[str, Any]:
        return self._struct("getPurchase", purchase_id)

    def get_record(self, record_id: bytes) -> dict[str, Any]:
        return self._struct("getRecord", record_id)

    def nonce_of(self, patient: str) -> int:
        return int(self._call("nonces", patient))

    def batch_anchor(self, root: bytes) -> dict[str, Any]:
        return self._struct("batchAnchor", root)

    def head(self) -> int:
        return self._rpc(lambda: self.w3.eth.block_number)

    def buyer_view(self, buyer: str, record_id: bytes, purchase_id: int) -> dict[str, Any]:
        """Everything a buyer check decides on, as it is at the latest block: the record, the
        consent request, the purchase, whether that purchase's own consent is in force
        (`isInForce`), the head and whether the buyer's AccessLogged has the confirmations
        (buyer_views.py: what is reused, and why only while the head is the same)."""
        return self._buyer_views.view(buyer, record_id, purchase_id)

    def _raw(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        try:
            return self._reads.batch(calls)
        except RevertedCall as error:
            name = self._error_names.get((error.data or "")[:10].lower(), error.data or error.message)
            raise ChainReverted(f"chain call reverted: {name}") from None

    def events(self, name: str, argument_filters: dict[str, Any]) -> list[Any]:
        """Every event `name` since deployment matching the indexed filters (FHIR exports,
        erasure), read in pieces a range-bounded proxy accepts."""
        event = getattr(self.contract.events, name)
        return self._rpc(lambda: contract_event_logs(
            event, self.deployments.deployment_block, self.w3.eth.block_number,
            self.chain.settings.log_block_range, argument_filters))

    def latest_timestamp(self) -> int:
        return int(self._rpc(lambda: self.w3.eth.get_block("latest")["timestamp"]))

    def block_timestamp(self, block_hash: bytes) -> int:
        """The timestamp of the block with this hash (an event's `blockHash`), read once."""
        return self._block_times.of(block_hash)

    def _read_block_timestamp(self, block_hash: bytes) -> int:
        return int(self._rpc(lambda: self.w3.eth.get_block(block_hash)["timestamp"]))

    # --- writes (gateway account) -----------------------------------------------------------
    def confirm_delivery(self, purchase_id: int) -> TxResult:
        return self._send("confirmDelivery", purchase_id)

    def decide_by_sig(self, request_id: int, decision: int, deadline: int,
                      signature: bytes) -> TxResult:
        return self._send("decideBySig", request_id, decision, deadline, signature)

    # --- plumbing ----------------------------------------------------------------------------
    def _call(self, name: str, *args: Any) -> Any:
        return self._rpc(lambda: self._functions[name](*args).call())

    def _struct(self, name: str, *args: Any) -> dict[str, Any]:
        """A struct return value keyed by its ABI component names."""
        return self._named(name, self._call(name, *args))

    def _named(self, name: str, value: Any) -> dict[str, Any]:
        outputs = self._functions[name].abi["outputs"]
        if len(outputs) == 1 and outputs[0].get("components"):
            return dict(zip([c["name"] for c in outputs[0]["components"]], value, strict=True))
        return dict(zip([o["name"] for o in outputs], value, strict=True))

    def _send(self, name: str, *args: Any) -> TxResult:
        if self._account is None:
            raise Unavailable("the gateway has no account configured (gateway_key)")
        function = self._functions[name](*args)
        sender = self._account.address
        with self._send_lock:  # one nonce sequence for the gateway's account
            try:
                function.call({"from": sender})  # simulate: a revert is the caller's problem
                tx = function.build_transaction({
                    "from": sender, "chainId": self.chain_id,
                    "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
                })
                signed = self._account.sign_transaction(tx)
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except (ContractCustomError, ContractLogicError) as error:
                raise ChainReverted(f"{name} would revert: {self._reason(error)}") from None
            except (Web3Exception, OSError) as error:
                raise Unavailable(f"chain unavailable: {type(error).__name__}") from None
        receipt = self._rpc(lambda: self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=self._settings.tx_timeout_s, poll_latency=0.1))
        result = TxResult(tx_hash.to_0x_hex(), receipt["blockNumber"], receipt["status"])
        if result.status != 1:
            raise ChainReverted(f"{name} reverted on-chain in {result.tx_hash}")
        return result

    def _reason(self, error: Exception) -> str:
        data = getattr(error, "data", None)
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            return self._error_names.get(data[:10].lower(), data[:10])
        return str(getattr(error, "message", None) or error)[:200]

    def _rpc(self, thunk):
        try:
            return thunk()
        except (ContractCustomError, ContractLogicError) as error:
            raise ChainReverted(f"chain call reverted: {self._reason(error)}") from None
        except (Web3Exception, OSError, TimeoutError) as error:
            raise Unavailable(f"chain unavailable: {type(error).__name__}") from None


def _custom_error_selectors(abi: list[dict[str, Any]]) -> dict[str, str]:
    names = {}
    for entry in abi:
        if entry.get("type") == "error":
            inputs = ",".join(abi_type(i) for i in entry.get("inputs", []))
            signature = f"{entry['name']}({inputs})"
            names[Web3.keccak(text=signature)[:4].to_0x_hex()] = entry["name"]
    return names


def checksum(address: str) -> str:
    return to_checksum_address(address)
