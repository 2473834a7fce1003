#!/usr/bin/env bash
# The long fault-injection matrices (tests marked `chaos`).
set -euo pipefail
cd "$(dirname "$0")/.."
uv run pytest -p no:ape_test tests --ignore=tests/contracts --ignore=tests/fork -m chaos -q
