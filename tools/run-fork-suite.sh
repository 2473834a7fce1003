#!/usr/bin/env bash
# The fork suite: an anvil "upstream" (chain id 1338, the `upstream` network of ape-config.yaml)
# gets the contracts through `ape run deploy`; then `ape test` runs on a fork of it and must see
# that deployed state. The upstream is stopped whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

port=8546   # must match node.ethereum.upstream.uri in ape-config.yaml
state=.pulseledger/fork
mkdir -p "$state"
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  echo "port $port is taken: the fork suite needs it for its upstream anvil" >&2
  exit 1
fi

anvil --host 127.0.0.1 --port "$port" --chain-id 1338 --block-time 1 --silent &
upstream=$!
trap 'kill "$upstream" 2>/dev/null || true; wait "$upstream" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done

uv run ape run deploy --network ethereum:upstream:node --account TEST::0 \
  --custodian 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 \
  --output "$state/deployments.json"
PULSELEDGER_FORK_DEPLOYMENTS="$state/deployments.json" PULSELEDGER_FORK_UPSTREAM="http://127.0.0.1:$port" \
  uv run ape test tests/fork --network ethereum:upstream-fork:foundry -q
