# The README's two commands: `make up` and `make test`. Each installs what is missing first
# (idempotent, offline but for the package registries), then hands over to the tools.
SHELL := /bin/bash
FOUNDRY_BIN := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin:$(CURDIR)/node_modules/@foundry-rs/forge-linux-amd64/bin:$(CURDIR)/node_modules/@foundry-rs/cast-linux-amd64/bin
export PATH := $(FOUNDRY_BIN):$(CURDIR)/.venv/bin:$(HOME)/.local/bin:$(PATH)
export UV_FROZEN := 1

.PHONY: setup shim chromium redis nftables up test bench chaos compile clean

## setup: uv env, npm tooling, the solc shim (each step is a no-op when already done)
setup: .venv/.synced services/predict/__pycache__/.kernels node_modules/.installed frontend/node_modules/.installed shim chromium redis nftables

$(HOME)/.local/bin/uv:
	command -v uv >/dev/null || python3 -m pip install --user --quiet uv

# Bytecode compiled once here: these machines set PYTHONDONTWRITEBYTECODE, so without it every
# process compiled its imports again (a peer process: 4.6 s of CPU to import, 1.6 s with it;
# the suites and the kill tests start hundreds).
.venv/.synced: pyproject.toml uv.lock | $(HOME)/.local/bin/uv
	uv sync --all-groups --compile-bytecode
	touch $@

# The screen's compiled passes (numba) into their on-disk cache once, here: otherwise the first
# prediction of every process started before the cache exists compiles them again (~8 s each).
services/predict/__pycache__/.kernels: .venv/.synced $(wildcard services/predict/*.py)
	.venv/bin/pulseledger model warm
	mkdir -p $(@D) && touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium for the dapp's browser tests (never a browser download of a test tool's own).
chromium:
	@[ -x /usr/bin/chromium ] || { apt-get update -qq && apt-get install -y -qq chromium; }

# Debian's Redis: the state gateway replicas share (docs/gateway.md); the tests start their own
# redis-server on a free loopback port. The embedded one-process gateway does not need it.
redis:
	@[ -x /usr/bin/redis-server ] || { apt-get update -qq && apt-get install -y -qq redis-server; }

# Debian's nftables: the several-hosts tests (tests/hosts) cut one simulated host off with `nft`
# rules inside a network namespace of their own, never in the machine's own firewall.
nftables:
	@[ -x /usr/sbin/nft ] || { apt-get update -qq && apt-get install -y -qq nftables; }

# Always re-pointed at this checkout's shim (cheap, idempotent): clones and worktrees come and go.
shim: node_modules/.installed
	@tools/solc-shim/install.sh >/dev/null

compile: setup
	uv run ape compile
	rm -rf contracts/.cache  # see tools/run-tests.sh: it hides our sources from ape past 500 files

up: setup
	uv run pulseledger up

test: setup
	tools/run-tests.sh

bench: setup
	tools/run-bench.sh

chaos: setup
	tools/run-chaos.sh

clean:
	rm -rf .build contracts/.cache .pulseledger out cache
