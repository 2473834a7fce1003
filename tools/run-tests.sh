#!/usr/bin/env bash
# The whole suite, in the order a failure is cheapest to find. `make test` calls this after setup.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

if compgen -G "tests/contracts/test_*.py" >/dev/null; then
  step "contracts: ape unit and attack tests on anvil"
  uv run ape test tests/contracts --network ethereum:local:foundry -q
fi

step "services: pytest (real local servers, no ape plugin)"
uv run pytest -p no:ape_test tests --ignore=tests/contracts --ignore=tests/fork -m "not chaos" -q
