"""The buyer check's chain reads as hand-built JSON-RPC batches on one keep-alive HTTP session.

Why not web3's contract calls: profiling one authorised read showed ~85% of its time in web3's
per-call ABI lookup, validation and middleware (dozens of keccaks to find a selector it already
knows), not on the wire. Here each function's selector and ABI types are resolved once; a read is
one POST of `eth_call`s (to one block) and `eth_getLogs`, decoded with eth_abi. Nothing decided here
is cached: every call of `batch` asks the node again (buyer_views.py decides what is kept).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from itertools import count
from typing import Any
from urllib.parse import urlsplit

import urllib3
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies

from services.gateway.errors import Unavailable

POOL_CONNECTIONS = 32  # keep-alive connections kept for the gateway's pool threads
_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class _Function:
    selector: bytes
    input_types: list[str]
    output_types: list[str]
    output_names: list[str]  # a struct's field names when the one output is a tuple
    field_types: list[str]  # their ABI types (addresses are checksummed like web3 does)
    struct: bool


class RevertedCall(Exception):
    """An eth_call in the batch reverted; `data` is the revert data (0x...) when the node gave it."""

    def __init__(self, data: str | None, message: str):
        super().__init__(message)
        self.data, self.message = data, message


class RawReads:
    def __init__(self, url: str, timeout_s: float, address: str, abi: list[dict[str, Any]]):
        self._url, self._timeout, self._address = url, timeout_s, address
        self._http = _connections(url)
        self._ids = count(1)
        self._functions = {entry["name"]: _describe(entry) for entry in abi
                           if entry.get("type") == "function"}

    def call(self, name: str, *args: Any, block: str | dict[str, str] = "latest"
             ) -> tuple[str, list[Any]]:
        """An `eth_call` for `batch`, at `latest` or the block given (a tag, a number, or
        EIP-1898's `{"blockHash": …}`: pinned to that very block)."""
        function = self._functions[name]
        data = function.selector + encode(function.input_types, list(args))
        return "eth_call", [{"to": self._address, "data": "0x" + data.hex()}, block]

    def decode(self, name: str, result: str) -> Any:
        """A call's result as web3 returns it: a dict for a struct, else the single value."""
        function = self._functions[name]
        values = decode(function.output_types, bytes.fromhex(result[2:]))
        if function.struct:
            fields = [_web3_like(kind, value) for kind, value in
                      zip(function.field_types, values[0], strict=True)]
            return dict(zip(function.output_names, fields, strict=True))
        values = [_web3_like(kind, value) for kind, value in
                  zip(function.output_types, values, strict=True)]
        return values[0] if len(values) == 1 else values

    def batch(self, requests_: list[tuple[str, list[Any]]]) -> list[Any]:
        """One POST, results in order; a reverted call raises RevertedCall, anything else
        unreachable or malformed raises Unavailable."""
        body = [{"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
                for method, params in requests_]
        try:
            response = self._http.request(
                "POST", self._url, body=json.dumps(body, separators=(",", ":")).encode(),
                headers=_JSON, timeout=urllib3.Timeout(self._timeout), retries=False)
            if response.status >= 400:
                raise Unavailable(f"chain unavailable: HTTP {response.status}")
            answers = {answer["id"]: answer for answer in json.loads(response.data)}
        except (urllib3.exceptions.HTTPError, ValueError, TypeError, KeyError) as error:
            raise Unavailable(f"chain unavailable: {type(error).__name__}") from None
        results = []
        for item in body:
            answer = answers.get(item["id"])
            if answer is None:
                raise Unavailable("chain unavailable: incomplete batch answer")
            if "error" in answer:
                error = answer["error"] or {}
                if item["method"] == "eth_call" and "revert" in str(error.get("message", "")):
                    raise RevertedCall(_revert_data(error), str(error.get("message"))[:200])
                raise Unavailable(f"chain unavailable: {str(error.get('message'))[:200]}")
            results.append(answer["result"])
        return results


def _connections(url: str) -> urllib3.PoolManager:
    """Keep-alive connections to the node, with the proxy and CA settings `requests` would take
    from the environment (read once here, not on every POST)."""
    proxies = get_environ_proxies(url)
    proxy = proxies.get(urlsplit(url).scheme) or proxies.get("all")
    ca_bundle = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                 or DEFAULT_CA_BUNDLE_PATH)
    options = {"maxsize": POOL_CONNECTIONS, "cert_reqs": "CERT_REQUIRED", "ca_certs": ca_bundle}
    return urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)


def _describe(entry: dict[str, Any]) -> _Function:
    inputs, outputs = entry.get("inputs", []), entry.get("outputs", [])
    input_types = [abi_type(i) for i in inputs]
    signature = f"{entry['name']}({','.join(input_types)})"
    struct = len(outputs) == 1 and bool(outputs[0].get("components"))
    fields = outputs[0]["components"] if struct else outputs
    return _Function(function_signature_to_4byte_selector(signature), input_types,
                     [abi_type(o) for o in outputs], [f["name"] for f in fields],
                     [abi_type(f) for f in fields], struct)


def abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return f"({','.join(abi_type(c) for c in item['components'])}){item['type'][5:]}"
    return item["type"]


def _web3_like(kind: str, value: Any) -> Any:
    """A checksummed address (eth_abi gives lower case), as web3 returns it."""
    return to_checksum_address(value) if kind == "address" else value


def _revert_data(error: dict[str, Any]) -> str | None:
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) and data.startswith("0x") else None
