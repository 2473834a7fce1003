"""The one place that turns settings into the processes of the system.

`pulseledger up` and the whole-story test both call `build_components`, so the test proves the
wiring `up` runs. The chain (anvil + deploy-once) comes first and is not a component: everything
below needs its RPC URL and deployments file.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from services.chain.deployments import load_deployments
from services.runtime.process_supervisor import ChildSpec
from services.stack.anvil import free_port
from services.stack.binaries import REPO_ROOT
from services.stack.dev_accounts import (
    CUSTODIAN_INDEX,
    GATEWAY_INDEX,
    MARKET_CUSTODIAN_INDEX,
    dev_account,
)
from services.stack.settings import StackSettings

PYTHON = [sys.executable, "-m"]


@dataclass
class Component(ChildSpec):
    """A process of the stack: what the supervisor runs, and where the status view probes it."""

    health_url: str | None = None
    metrics_url: str | None = None
    await_done: bool = True  # one-shot: the system is ready only once it is done (else: started)


@dataclass(frozen=True)
class ChainEndpoint:
    rpc_url: str
    deployments_file: Path
    local: bool  # anvil we started: its dev keys may be used


@dataclass(frozen=True)
class Ports:
    gateway: int
    dapp: int
    proxy: int
    listeners: int
    peers: int
    devices: int

    @classmethod
    def pick(cls, settings: StackSettings) -> Ports:
        """Settings' ports; 0 means any free one (tests run beside each other)."""
        return cls(*(port or free_port() for port in
                     (settings.gateway_port, settings.dapp_port, settings.proxy_port,
                      settings.listeners_port, settings.peers_port, settings.devices_port)))


def _default(env: dict[str, str], name: str, value) -> None:
    """Set unless the user's environment or config already chose it."""
    if name not in os.environ:
        env[name] = value if isinstance(value, str) else json.dumps(value)


def shared_env(settings: StackSettings, chain: ChainEndpoint) -> dict[str, str]:
    """Embedded defaults every service agrees on: one data directory, one chain."""
    state = settings.state_dir.resolve()
    env: dict[str, str] = {"PYTHONUNBUFFERED": "1"}
    _default(env, "PULSELEDGER_RECORDS_SQLITE_DIR", str(state / "records"))
    _default(env, "PULSELEDGER_RECORDS_MASTER_KEY_FILE", str(state / "records-master.key"))
    _default(env, "PULSELEDGER_BLOBS_LOCAL_DIR", str(state / "blobs"))
    _default(env, "PULSELEDGER_NOTIFY_OUTBOX_DIR", str(settings.outbox_dir.resolve()))
    _default(env, "PULSELEDGER_INGEST_QUEUE_PATH", str(peers_dir(settings) / "queue.db"))
    # The one chain block every service reads (services/chain/settings.py): not their older names.
    _default(env, "PULSELEDGER_CHAIN_RPC_URL", chain.rpc_url)
    _default(env, "PULSELEDGER_CHAIN_DEPLOYMENTS", str(chain.deployments_file.resolve()))
    # The record store's namespace follows the deployment (as the gateway's does), so a
    # `pulseledger records …` command run with this environment sees the same records.
    deployments = load_deployments(chain.deployments_file)
    _default(env, "PULSELEDGER_RECORDS_CHAIN_ID", str(deployments.chain_id))
    _default(env, "PULSELEDGER_RECORDS_GENESIS_HASH", deployments.genesis_hash)
    _default(env, "PULSELEDGER_RECORDS_CONTRACTS",
             {name: c.address for name, c in deployments.contracts.items()})
    return env


def peers_dir(settings: StackSettings) -> Path:
    return (settings.state_dir / "peers").resolve()


def gateway_url(settings: StackSettings, ports: Ports) -> str:
    return f"http://{settings.host}:{ports.gateway}"


def dapp_url(settings: StackSettings, ports: Ports) -> str:
    return f"http://{settings.host}:{ports.dapp}"


def devices_url(settings: StackSettings, ports: Ports) -> str:
    return f"http://{settings.host}:{ports.devices}"


def gateway_key(settings: StackSettings, chain: ChainEndpoint) -> str | None:
    if settings.gateway_key is not None:
        return settings.gateway_key.get_secret_value()
    return dev_account(GATEWAY_INDEX).key.to_0x_hex() if chain.local else None


def custodian_key(settings: StackSettings, chain: ChainEndpoint) -> str | None:
    if settings.custodian_key is not None:
        return settings.custodian_key.get_secret_value()
    return dev_account(CUSTODIAN_INDEX).key.to_0x_hex() if chain.local else None


def market_custodian_key(settings: StackSettings, chain: ChainEndpoint) -> str | None:
    if settings.market_custodian_key is not None:
        return settings.market_custodian_key.get_secret_value()
    return dev_account(MARKET_CUSTODIAN_INDEX).key.to_0x_hex() if chain.local else None


def build_components(settings: StackSettings, chain: ChainEndpoint,
                     ports: Ports) -> list[Component]:
    shared = shared_env(settings, chain)
    components = [_gateway(settings, chain, ports, shared)]
    if settings.peers:
        components.append(_peers(settings, chain, ports, shared))
    if settings.devices:
        components.append(_devices(settings, ports, shared))
    if settings.listeners:
        components.append(_listeners(settings, chain, ports, shared))
    if settings.market and market_custodian_key(settings, chain) is not None:
        components.append(_market(settings, chain, shared))
    if settings.proxy:
        components.append(_proxy(settings, chain, ports, shared))
    dist = dapp_dist(settings)
    if settings.serve_dapp and (dist / "index.html").exists():
        components.append(_dapp(settings, chain, ports, shared, dist))
    components += _actors(settings, chain, ports, shared)
    return components


def _gateway(settings, chain, ports, shared) -> Component:
    url = gateway_url(settings, ports)
    env = dict(shared)
    _default(env, "PULSELEDGER_GATEWAY_DOMAIN", f"{settings.host}:{ports.gateway}")
    _default(env, "PULSELEDGER_GATEWAY_URI", url)
    _default(env, "PULSELEDGER_GATEWAY_CORS_ORIGINS", [dapp_url(settings, ports)])
    # confirmation emails link to this dapp; every demo patient names the one demo doctor
    _default(env, "PULSELEDGER_GATEWAY_DAPP_URL", dapp_url(settings, ports))
    _default(env, "PULSELEDGER_GATEWAY_CONFIRMATIONS_PER_ADDRESS",
             str(20 + settings.simulate_users))
    key = gateway_key(settings, chain)
    if key is not None:
        _default(env, "PULSELEDGER_GATEWAY_GATEWAY_KEY", key)
    return Component("gateway", PYTHON + ["services", "gateway", "--host", settings.host,
                                          "--port", str(ports.gateway)],
                     env=env, health_url=url + "/healthz", metrics_url=url + "/metrics")


def dapp_dist(settings: StackSettings) -> Path:
    dist = settings.dapp_dist
    return dist if dist.is_absolute() else REPO_ROOT / dist


def dapp_config(settings: StackSettings, chain: ChainEndpoint, ports: Ports) -> dict:
    """The dapp's runtime /config.json (frontend/src/lib/config.ts): this chain, this gateway."""
    deployments = load_deployments(chain.deployments_file)
    via_proxy = settings.proxy
    return {"chainId": deployments.chain_id,
            "chainName": "PulseLedger local (anvil)" if chain.local else f"chain {deployments.chain_id}",
            "rpcUrl": f"http://{settings.host}:{ports.proxy}" if via_proxy else chain.rpc_url,
            "transport": "sigv4-proxy" if via_proxy else "direct",
            "gatewayUrl": gateway_url(settings, ports),
            "contract": deployments.address(), "deploymentBlock": deployments.deployment_block,
            "pollIntervalMs": 1000}


def _dapp(settings, chain, ports, shared, dist: Path) -> Component:
    config = (settings.state_dir / "dapp-config.json").resolve()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps(dapp_config(settings, chain, ports), indent=1))
    return Component("dapp", PYTHON + ["services.stack.static_server", str(dist), str(ports.dapp),
                                       str(config)],
                     env=shared, health_url=dapp_url(settings, ports) + "/healthz")


def _peers(settings, chain, ports, shared) -> Component:
    """Every role (master, aggregation, prediction, storage, notification) in one peer process;
    storage anchors batch roots as the custodian registered at deploy time."""
    env = dict(shared)
    _default(env, "PULSELEDGER_PEERS_STATUS_PORT", str(ports.peers))
    _default(env, "PULSELEDGER_PEERS_DAPP_URL", dapp_url(settings, ports))
    _default(env, "PULSELEDGER_PEERS_LEDGER_ADDRESS",
             load_deployments(chain.deployments_file).address())
    key = custodian_key(settings, chain)
    if key is not None:
        _default(env, "PULSELEDGER_PEERS_CUSTODIAN_PRIVATE_KEY", key)
    # the one-machine operator admits the one peer (docs/peers.md: Admission)
    from services.peers.admission.local import admit_locally
    from services.peers.settings import ALL_ROLES

    admit_locally(peers_dir(settings), {"node-1": ALL_ROLES})
    url = f"http://127.0.0.1:{ports.peers}"
    return Component("peers", PYTHON + ["services", "peer", "--data-dir", str(peers_dir(settings)),
                                        "--name", "node-1"],
                     env=env, health_url=url + "/healthz", metrics_url=url + "/metrics")


def _devices(settings, ports, shared) -> Component:
    """The device endpoint, in front of the peers' queue (PULSELEDGER_INGEST_QUEUE_PATH) and
    the shared record store: real devices post signed readings there (docs/devices.md)."""
    url = devices_url(settings, ports)
    return Component("devices", PYTHON + ["services", "devices", "serve", "--host", settings.host,
                                          "--port", str(ports.devices), "--data-dir",
                                          str(peers_dir(settings))],
                     env=dict(shared), health_url=url + "/healthz", metrics_url=url + "/metrics")


def _listeners(settings, chain, ports, shared) -> Component:
    """The notification relay and the record-store updater, one process (`listen all`); our
    supervisor restarts it, so its own supervision is off. Their cursors belong to one deployment
    (they refuse another's), so each deployment gets its own state folder."""
    env = dict(shared)
    deployments = load_deployments(chain.deployments_file)
    folder = f"{deployments.genesis_hash[2:10]}-{deployments.address()[2:10].lower()}"
    _default(env, "PULSELEDGER_LISTENERS_STATE_DIR",
             str((settings.state_dir / "listeners" / folder).resolve()))
    _default(env, "PULSELEDGER_LISTENERS_STATUS_PORT", str(ports.listeners))
    _default(env, "PULSELEDGER_LISTENERS_DAPP_URL", dapp_url(settings, ports))
    url = f"http://127.0.0.1:{ports.listeners}"
    return Component("listeners", PYTHON + ["services", "listen", "all", "--no-supervise"],
                     env=env, health_url=url + "/healthz", metrics_url=url + "/metrics")


def _market(settings, chain, shared) -> Component:
    """The market custodian: bundles from the shared store, registered on-chain
    (services/market; docs/market.md)."""
    env = dict(shared)
    _default(env, "PULSELEDGER_MARKET_CUSTODIAN_KEY", market_custodian_key(settings, chain))
    _default(env, "PULSELEDGER_MARKET_PERIOD_S", str(settings.market_period_s))
    port = settings.market_port or free_port()
    _default(env, "PULSELEDGER_MARKET_STATUS_PORT", str(port))
    url = f"http://127.0.0.1:{port}"
    return Component("market", PYTHON + ["services", "market", "custodian"], env=env,
                     health_url=url + "/healthz", metrics_url=url + "/metrics")


def _proxy(settings, chain, ports, shared) -> Component:
    url = f"http://{settings.host}:{ports.proxy}"
    env = dict(shared)
    _default(env, "PULSELEDGER_PROXY_DEPLOYMENTS", str(chain.deployments_file.resolve()))
    _default(env, "PULSELEDGER_PROXY_UPSTREAMS", [{"url": chain.rpc_url, "name": "chain"}])
    _default(env, "PULSELEDGER_PROXY_CORS_ORIGINS", [dapp_url(settings, ports)])
    return Component("proxy", PYTHON + ["services", "proxy", "--bind",
                                        f"{settings.host}:{ports.proxy}"],
                     env=env, health_url=url + "/healthz", metrics_url=url + "/metrics")


def _actor_env(settings, chain, ports, shared) -> dict[str, str]:
    env = dict(shared)
    env.update({"PULSELEDGER_DEMO_GATEWAY_URL": gateway_url(settings, ports),
                "PULSELEDGER_DEMO_RPC_URL": chain.rpc_url,
                "PULSELEDGER_DEMO_DEPLOYMENTS": str(chain.deployments_file.resolve()),
                "PULSELEDGER_DEMO_SEED": settings.demo_seed,
                "PULSELEDGER_DEMO_USERS": str(settings.simulate_users),
                "PULSELEDGER_DEMO_LOCAL_CHAIN": "true" if chain.local else "false",
                "PULSELEDGER_DEMO_IRREGULAR_USERS": str(settings.simulate_irregular_users),
                "PULSELEDGER_DEMO_SECONDS": str(settings.simulate_seconds),
                "PULSELEDGER_DEMO_BATCH": str(settings.simulate_batch),
                "PULSELEDGER_DEMO_FAST": "true" if settings.simulate_fast else "false",
                "PULSELEDGER_DEMO_PEERS_DIR": str(peers_dir(settings)),
                "PULSELEDGER_DEMO_STATE_FILE": str((settings.state_dir / "demo.json").resolve())})
    key = market_custodian_key(settings, chain)
    if settings.market and key is not None:  # whom the demo patients authorise (an address)
        env["PULSELEDGER_DEMO_MARKET_CUSTODIAN"] = Account.from_key(key).address
    return env


def _actors(settings, chain, ports, shared) -> list[Component]:
    """One-shot actors: they act, then exit 0 (restarted only if they fail)."""
    env = _actor_env(settings, chain, ports, shared)
    actors = []
    if settings.simulate:
        actors.append(Component("onboarding", PYTHON + ["services.stack.actors", "onboard"],
                                env=env, one_shot=True))
    if settings.simulate and settings.peers:
        # Streams for the whole simulated duration, then is done.
        actors.append(Component("wearables", PYTHON + ["services.stack.actors", "stream"],
                                env=env, one_shot=True, await_done=False))
    if settings.demo_requester:
        actors.append(Component("requester", PYTHON + ["services.stack.actors", "request"],
                                env=env, one_shot=True))
    if settings.demo_requester and settings.demo_sale and settings.simulate and settings.market:
        # Runs until the sale is delivered (a minute or two: the first bundle must be sealed).
        actors.append(Component("sale", PYTHON + ["services.stack.demo_sale"],
                                env=env, one_shot=True, await_done=False))
    return actors
