"""The consent decision's EIP-712 typed data has one definition (services/chain/eip712.py): it matches
the contract's typehash and domain, and the dapp's copy is what tools/gen_chain_typed_data.py makes
from it (its --check runs in test_generated_enums.py; the dapp's unit test hashes the generated
vector to Python's digest)."""

import re
import sys
from pathlib import Path

from services.chain import eip712

REPO = Path(__file__).resolve().parents[2]


def test_python_typed_data_is_the_contracts():
    registry = (REPO / "contracts" / "ConsentRegistry.sol").read_text()
    [typehash] = re.findall(r'_CONSENT_DECISION_TYPEHASH\s*=\s*keccak256\("([^"]+)"\)', registry)
    fields = ",".join(f"{f['type']} {f['name']}" for f in eip712.CONSENT_DECISION_FIELDS)
    assert f"{eip712.PRIMARY_TYPE}({fields})" == typehash
    ledger = (REPO / "contracts" / "PulseLedger.sol").read_text()
    assert f'EIP712("{eip712.DOMAIN_NAME}", "{eip712.DOMAIN_VERSION}")' in ledger


def test_check_fails_when_the_dapp_copy_drifts(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "tools"))
    import gen_chain_typed_data as generator

    drifted = tmp_path / "consentTypedData.ts"
    drifted.write_text(generator.ts_source().replace("uint8", "uint256"))
    monkeypatch.setattr(generator, "TS_OUT", drifted)
    monkeypatch.setattr(generator, "REPO", tmp_path)
    monkeypatch.setattr(sys, "argv", ["gen_chain_typed_data.py", "--check"])
    try:
        generator.main()
    except SystemExit as stop:
        assert stop.code == 1
    else:
        raise AssertionError("--check passed on a drifted copy")
