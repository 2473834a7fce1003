"""The dapp builds its sign-in message with viem (`viem/siwe`, frontend/src/lib/gateway.ts); the
gateway must accept exactly that text. Runs viem itself under node, from the dapp's packages
(installed by `make setup`)."""

import json
import subprocess

from eth_account import Account

from services.gateway.siwe import parse_message
from tests.gateway.chain_helpers import REPO

FRONTEND = REPO / "frontend"
SCRIPT = """
import { createSiweMessage } from 'viem/siwe';
const cases = JSON.parse(process.argv[1]);
console.log(JSON.stringify(cases.map((c) => createSiweMessage({
  ...c, issuedAt: new Date(c.issuedAt), statement: c.statement || undefined, version: '1' }))));
"""


def test_viem_built_messages__parse_as_the_fields_the_dapp_gave():
    address = Account.create().address
    cases = [
        {"domain": "127.0.0.1:8600", "address": address, "uri": "http://127.0.0.1:8600",
         "chainId": 31337, "nonce": "a" * 50, "statement": "Sign in to PulseLedger.",
         "issuedAt": "2026-12-02T10:00:00.123Z"},
        {"domain": "localhost:8600", "address": address.lower(), "uri": "http://localhost:8600",
         "chainId": 1, "nonce": "0123456789abcdef", "statement": "",
         "issuedAt": "2026-12-02T10:00:00.000Z"},
        {"domain": "gateway.example", "address": address, "uri": "https://gateway.example/",
         "chainId": 11155111, "nonce": "Zz09Zz09", "statement": "Sign in to PulseLedger.",
         "issuedAt": "2026-12-02T23:59:59.999Z"},
    ]
    built = subprocess.run(["node", "--input-type=module", "-e", SCRIPT, json.dumps(cases)],
                           cwd=FRONTEND, capture_output=True, text=True, timeout=120, check=True)
    for case, text in zip(cases, json.loads(built.stdout), strict=True):
        message = parse_message(text)
        assert (message.domain, message.address, message.uri, message.chain_id, message.nonce,
                message.statement, message.issued_at) == (
            case["domain"], address, case["uri"], case["chainId"], case["nonce"],
            case["statement"] or None, case["issuedAt"])
