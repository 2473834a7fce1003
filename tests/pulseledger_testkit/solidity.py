"""Compiles a test contract with the project's solc-js shim (no download, no ape project)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pulseledger_testkit.anvil import REPO


def compile_contract(source: Path, name: str) -> dict:
    """{'abi': [...], 'bytecode': '0x..'} for one contract."""
    request = {
        "language": "Solidity",
        "sources": {source.name: {"content": source.read_text()}},
        "settings": {"evmVersion": "cancun", "optimizer": {"enabled": True, "runs": 200},
                     "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    result = subprocess.run(["node", str(REPO / "tools/solc-shim/solc.js"), "--standard-json"],
                            input=json.dumps(request), capture_output=True, text=True, check=True)
    output = json.loads(result.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError(errors[0]["formattedMessage"])
    compiled = output["contracts"][source.name][name]
    return {"abi": compiled["abi"], "bytecode": "0x" + compiled["evm"]["bytecode"]["object"]}
