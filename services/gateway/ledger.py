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
from services.gateway.chain_reads import RawReads, RevertedCall, abi_type
from services.gateway.errors import BadRequest, Unavailable
from services.runtime.bounded_cache import BoundedCache
from services.gateway.settings import GatewaySettings

PURCHASE_PAID, PURCHASE_DELIVERED, PURCHASE_REFUNDED = (
    PurchaseStatus.PAID, PurchaseStatus.DELIVERED, PurchaseStatus.REFUNDED)
CONSENT_STATUS = {status.value: status.name.lower() for status in ConsentStatus}
DECISIONS = {"approve": 1, "deny": 2, "revoke": 3}
ACCESS_LOGGED_TOPIC = Web3.keccak(text="AccessLogged(address,address,bytes32,uint256)").to_0x_hex()


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
        self._error_names = _custom_error_selectors(self.contract.abi)
        # ABI lookups by name are slow in web3 7: resolve each function and its outputs once.
        self._functions = {entry["name"]: self.contract.get_function_by_name(entry["name"])
                           for entry in self.contract.abi if entry.get("type") == "function"}
        # The buyer check's reads skip web3's per-call overhead (see chain_reads.py).
        self._reads = RawReads(self.chain.settings.rpc_url, self.chain.settings.request_timeout_s,
                               self.contract.address, self.contract.abi)
        self._confirmed_access = BoundedCache(settings.read_cache_entries)

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
        """Everything a buyer check decides on, read at `latest` in one JSON-RPC batch (one
        round trip): the record, the consent request, the purchase, whether that purchase's own
        consent is in force (`isInForce`), the head and, until one is found with enough
        confirmations, the matching AccessLogged logs (counted only up to head - confirmations
        + 1). A confirmed AccessLogged is final, so it is cached (docs/gateway.md, "What buyer
        reads cache"); everything else is asked again on every read."""
        request_id, data_class = purchase_id >> 8, purchase_id & 0xFF
        reads, logged_key = self._reads, (buyer.lower(), record_id, purchase_id)
        calls = [reads.call("getRecord", record_id), reads.call("getRequest", request_id),
                 reads.call("getPurchase", purchase_id),
                 reads.call("isInForce", request_id, data_class), ("eth_blockNumber", [])]
        logged = logged_key in self._confirmed_access
        if not logged:
            calls.append(("eth_getLogs", [self._raw_access_filter(buyer, record_id)]))
        results = self._raw(calls)
        record, request, purchase, in_force = (
            reads.decode(name, result) for name, result in
            zip(("getRecord", "getRequest", "getPurchase", "isInForce"), results))
        head = int(results[4], 16)
        if not logged:
            confirmed_to = head - self.confirmations + 1
            logged = any(int(log["blockNumber"], 16) <= confirmed_to
                         and int(log["data"][2:66] or "0", 16) == purchase_id
                         for log in results[5])
            if logged:  # final by the confirmation policy: never asked for again
                self._confirmed_access.add(logged_key)
        return {"record": record, "request": request, "purchase": purchase,
                "consent_in_force": bool(in_force), "data_class": data_class, "head": head,
                "access_logged": logged}

    def _raw_access_filter(self, buyer: str, record_id: bytes) -> dict[str, Any]:
        query = self._access_filter(buyer, record_id, "latest")
        return {**query, "fromBlock": hex(query["fromBlock"]), "toBlock": "latest"}

    def _raw(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        try:
            return self._reads.batch(calls)
        except RevertedCall as error:
            name = self._error_names.get((error.data or "")[:10].lower(), error.data or error.message)
            raise ChainReverted(f"chain call reverted: {name}") from None

    def _access_filter(self, buyer: str, record_id: bytes, to_block: Any) -> dict[str, Any]:
        # AccessLogged(address indexed accessor, address indexed patient, bytes32 indexed
        # recordId, uint256 purchaseId): raw topics, data is the purchase id.
        start = self.deployments.deployment_block
        if self._settings.log_lookback_blocks and isinstance(to_block, int):
            start = max(start, to_block - self._settings.log_lookback_blocks)
        return {"address": self.contract.address, "fromBlock": start, "toBlock": to_block,
                "topics": [ACCESS_LOGGED_TOPIC, "0x" + "00" * 12 + buyer[2:].lower(), None,
                           "0x" + record_id.hex()]}

    def access_logged(self, buyer: str, record_id: bytes, purchase_id: int) -> dict[str, Any] | None:
        """The AccessLogged event for (buyer, record, purchase) with enough confirmations, if any."""
        confirmed_to = self.head() - self.confirmations + 1
        if confirmed_to < 0:
            return None
        logs = self._rpc(lambda: self.w3.eth.get_logs(
            self._access_filter(buyer, record_id, confirmed_to)))
        for log in logs:
            if int.from_bytes(bytes(log["data"])[:32], "big") == purchase_id:
                return {"tx_hash": log["transactionHash"].to_0x_hex(),
                        "block_number": log["blockNumber"]}
        return None

    def events(self, name: str, argument_filters: dict[str, Any]) -> list[Any]:
        """Every event `name` since deployment matching the indexed filters (for FHIR exports)."""
        return self._logs(name, self.deployments.deployment_block, "latest", argument_filters)

    def latest_timestamp(self) -> int:
        return int(self._rpc(lambda: self.w3.eth.get_block("latest")["timestamp"]))

    def block_timestamp(self, block_number: int) -> int:
        return int(self._rpc(lambda: self.w3.eth.get_block(block_number)["timestamp"]))

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

    def _logs(self, name: str, from_block: int, to_block: Any, filters: dict[str, Any]) -> list[Any]:
        event = getattr(self.contract.events, name)
        return self._rpc(lambda: event.get_logs(from_block=from_block, to_block=to_block,
                                                argument_filters=filters))

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
