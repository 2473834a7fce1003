#!/usr/bin/env bash
# The dapp's tests (frontend/): install from the lock file if needed, generate the typed ABI, type-check
# and build, Vitest unit tests, then end to end in Debian's Chromium: the patient–researcher story
# twice (directly against anvil, and through the RPC proxy in pass-through mode), then each role on
# its own (a new patient onboarding, a doctor following an alert link, every email link, erasure).
# Screenshots and logs: test-artifacts/dapp/.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

CHROMIUM=${PULSELEDGER_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "run-dapp-tests: $CHROMIUM not found; install Debian's Chromium (apt-get install -y chromium)" >&2
  exit 1
fi
[ -f .build/__local__.json ] || uv run ape compile

cd frontend
if [ ! -f node_modules/.installed ] || [ package-lock.json -nt node_modules/.installed ]; then
  step "dapp: npm ci"
  npm ci --no-audit --no-fund
  touch node_modules/.installed
fi

step "dapp: generate contract modules, type-check, build"
node scripts/gen-contracts.mjs --deployments none
npm run --silent build
node scripts/check-bundle-size.mjs  # JS ≤ 250 KiB gzipped, or the run fails

step "dapp: vitest"
npx vitest run

for transport in direct sigv4-proxy; do
  step "dapp: e2e story in Chromium ($transport)"
  E2E_TRANSPORT=$transport node --test --test-reporter=spec e2e/story.test.mjs
done

step "dapp: e2e per role in Chromium"
node --test --test-reporter=spec e2e/roles.test.mjs
