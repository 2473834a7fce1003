"""`pulseledger up`: one settings object for the whole local system (env prefix PULSELEDGER_STACK_).

Each service keeps its own settings class (PULSELEDGER_GATEWAY_*, _RECORDS_*, _NOTIFY_*, ...); the
stack sets only what wires them together (ports, the RPC URL, the deployments file, the data
directory) and leaves every backend choice to those classes, read from the environment,
`.env` or `pulseledger.toml` (services/stack/config.py).
"""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_STACK_", extra="ignore")

    state_dir: Path = Path(".pulseledger")

    # The chain: a local anvil (state kept across restarts) unless rpc_url names another node.
    rpc_url: str | None = None
    deploy_on_rpc: bool = False  # with rpc_url: deploy there (else the deployments file must exist)
    deploy_network: str = "ethereum:sepolia:node"  # the ape network used by deploy_on_rpc
    deployments: Path | None = None  # default: state_dir/deployments.json
    chain_host: str = "127.0.0.1"
    chain_port: int = 8545
    block_time_s: int = 1
    state_interval_s: int = 5
    deploy_account: str = "TEST::0"
    delivery_window_s: int = 7 * 24 * 3600
    # The gateway's and the storage custodian's accounts. Defaults: anvil's well-known dev keys
    # (accounts 0 and 1 of the `test … junk` mnemonic), used only with the local chain.
    gateway_key: SecretStr | None = None
    custodian_key: SecretStr | None = None

    # The market custodian (services/market): seals and registers sellable bundles for every
    # patient who authorised it. Its own account (default: anvil dev account 3, local chain only).
    market: bool = True
    market_custodian_key: SecretStr | None = None
    market_period_s: int = 60  # one bundle per patient, priced class and period (demo: a minute)
    market_port: int = 8604  # its /healthz and /metrics (0: any free port)

    # Services (127.0.0.1; 0 = any free port)
    host: str = "127.0.0.1"
    gateway_port: int = 8600
    dapp_port: int = 5173
    dapp_dist: Path = Path("frontend/dist")
    serve_dapp: bool = True
    proxy: bool = False  # start `pulseledger proxy` (upstreams: PULSELEDGER_PROXY_*)
    listeners: bool = True  # notification relay + updater (mail: PULSELEDGER_NOTIFY_*)
    listeners_port: int = 8601  # their /healthz and /metrics
    proxy_port: int = 8645

    # The peer pipeline (every role in one process by default)
    peers: bool = True
    peers_port: int = 8602  # its /healthz and /metrics
    # The device endpoint real wearables and phones post signed readings to (docs/devices.md)
    devices: bool = True
    devices_port: int = 8603

    # Demo actors: simulated wearables onboarded through the gateway, and a requester
    simulate: bool = True
    simulate_users: int = 4
    simulate_irregular_users: int = 1
    simulate_seconds: int = 3600  # of 1 Hz readings per wearable
    simulate_batch: int = 1  # readings per signed message
    simulate_fast: bool = False  # the same readings at once, timestamps in the past (tests)
    demo_requester: bool = True
    demo_sale: bool = True  # patient 0 approves (gasless), the requester buys, reads, is delivered
    demo_seed: str = "pulseledger-demo"

    # Supervision and status
    ready_timeout_s: float = 60.0
    status_interval_s: float = 1.0
    plain_status_interval_s: float = 5.0  # one status line this often when stdout is not a terminal
    http_timeout_s: float = 2.0
    max_restarts: int = 5
    restart_backoff_s: float = 0.5
    stop_timeout_s: float = 10.0

    @property
    def chain_state_file(self) -> Path:
        return self.state_dir / "chain" / "anvil-state.json"

    @property
    def deployments_file(self) -> Path:
        return self.deployments or self.state_dir / "deployments.json"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def outbox_dir(self) -> Path:
        return self.state_dir / "outbox"

    @property
    def local_chain(self) -> bool:
        return self.rpc_url is None
