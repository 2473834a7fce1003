#!/usr/bin/env bash
# The long fault-injection matrices: tests marked `chaos`, and forge's full invariant campaigns
# (256 runs x 500 calls per invariant).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/run-forge-and-slither.sh --full
uv run pytest -p no:ape_test tests --ignore=tests/contracts --ignore=tests/fork -m chaos -q
