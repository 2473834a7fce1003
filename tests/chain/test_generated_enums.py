"""The contracts' enums reach Python and TypeScript only through tools/gen_chain_enums.py: the
committed files are what the generator makes from contracts/interfaces, and every enum the ABI
names exists in them. The dapp's consent typed data is generated the same way and checked here too."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.chain import enums

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("generator", ["gen_chain_enums.py", "gen_chain_typed_data.py"])
def test_generated_files_are_up_to_date(generator):
    """Both generators' outputs (enums; the consent typed data: test_generated_typed_data.py)."""
    result = subprocess.run([sys.executable, str(REPO / "tools" / generator), "--check"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_every_enum_the_abi_names_is_generated():
    abi = json.loads((REPO / "frontend" / "src" / "contracts" / "PulseLedger.ts").read_text()
                     .split("=", 1)[1].rsplit("as const", 1)[0])
    named = set()

    def walk(params):
        for param in params or ():
            kind = param.get("internalType", "")
            if kind.startswith("enum "):
                named.add(kind.removeprefix("enum ").split(".")[-1])
            walk(param.get("components"))

    for item in abi:
        walk(item.get("inputs"))
        walk(item.get("outputs"))
    assert named, "the ABI names no enum: the check would pass vacuously"
    assert named <= {name for name in dir(enums) if not name.startswith("_")}
    assert enums.PurchaseStatus.DELIVERED == 2 and enums.DataClass.EXPORTS == 2
