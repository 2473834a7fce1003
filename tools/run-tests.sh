#!/usr/bin/env bash
# The whole suite, in the order a failure is cheapest to find. `make test` calls this after setup.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "python: lint (ruff, the rules in pyproject.toml)"
uv run ruff check services tests benchmarks tools scripts

step "contracts: compile"
uv run ape compile
# ape copies the whole OpenZeppelin package (500+ files) into contracts/.cache while compiling, and
# its source listing stops at 500 files: left there, it hides contracts/interfaces and
# contracts/test from `project.<Name>`. The compiled manifest in .build is all the tests need.
rm -rf contracts/.cache

step "contracts: ape unit and attack tests on anvil"
uv run ape test tests/contracts --network ethereum:local:foundry -q

step "contracts: fork suite (ape run deploy to an upstream anvil, ape test on a fork of it)"
tools/run-fork-suite.sh

step "contracts: forge invariants (light profile) and slither"
tools/run-forge-and-slither.sh

step "services: pytest (real local servers, no ape plugin)"
uv run pytest -p no:ape_test tests --ignore=tests/contracts --ignore=tests/fork -m "not chaos" -q

step "dapp: build, vitest, end-to-end in Chromium (direct and through the RPC proxy)"
tools/run-dapp-tests.sh
