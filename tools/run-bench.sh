#!/usr/bin/env bash
# Records every benchmark: each benchmarks/bench_<name>.py writes benchmarks/<name>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in benchmarks/bench_*.py; do
  [ -e "$bench" ] || continue
  printf '\n== %s\n' "$bench"
  uv run python "$bench"
done
uv run python tools/render_benchmarks.py
uv run python tools/render_model_card.py
