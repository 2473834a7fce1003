"""The whole local system as one object: chain (anvil or a given RPC), deploy-once, then the
supervised components from `build_components`. `pulseledger up` drives it with a live view; the
whole-story test drives it directly, so both run the same wiring."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from web3 import Web3

from services.chain.deployments import Deployments
from services.chain.settings import ChainSettings
from services.runtime.process_supervisor import ProcessSupervisor
from services.stack.anvil import Anvil, free_port
from services.stack.binaries import REPO_ROOT
from services.stack.components import (
    ChainEndpoint,
    Ports,
    build_components,
    custodian_key,
    dapp_dist,
)
from services.stack.deploy import DeployError, deploy_with_ape, reusable_deployment
from services.stack.settings import StackSettings
from services.stack.status_board import ChainEvents, StatusBoard

# The `devnet` network of ape-config.yaml (chain id 31337, block time 1) at this chain's URL.
DEVNET = "ethereum:devnet:{url}"

Step = Callable[[str], None]  # announces a step that takes time (the CLI shows a progress bar)


class StackError(RuntimeError):
    pass


@dataclass
class ChainUp:
    endpoint: ChainEndpoint
    deployments: Deployments
    verdict: str  # deployed | reused | given


class Stack:
    def __init__(self, settings: StackSettings):
        self.settings = settings
        self.anvil: Anvil | None = None
        self.chain: ChainUp | None = None
        self.ports: Ports | None = None
        self.supervisor: ProcessSupervisor | None = None
        self.board: StatusBoard | None = None

    # -- chain --------------------------------------------------------------------------------
    def start_chain(self, step: Step = lambda _: None) -> ChainUp:
        settings = self.settings
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        if settings.local_chain:
            step("starting the local chain (anvil)")
            self.anvil = Anvil(port=settings.chain_port or free_port(), host=settings.chain_host,
                               block_time_s=settings.block_time_s,
                               state_file=settings.chain_state_file,
                               state_interval_s=settings.state_interval_s,
                               log_file=settings.state_dir / "anvil.log").start()
            url = self.anvil.url
        else:
            url = settings.rpc_url
        w3 = Web3(Web3.HTTPProvider(url))
        endpoint = ChainEndpoint(url, settings.deployments_file, settings.local_chain)
        deployments = reusable_deployment(w3, settings.deployments_file)
        verdict = "reused"
        if deployments is None:
            if not settings.local_chain and not settings.deploy_on_rpc:
                raise StackError(f"no deployment for {url} in {settings.deployments_file}: run "
                                 "`ape run deploy` or set PULSELEDGER_STACK_DEPLOY_ON_RPC=true")
            step("compiling and deploying PulseLedger (ape run deploy)")
            network = DEVNET.format(url=url) if settings.local_chain else settings.deploy_network
            custodian = custodian_key(settings, endpoint)
            custodians = [w3.eth.account.from_key(custodian).address] if custodian else []
            deployments = deploy_with_ape(network, settings.deploy_account,
                                          settings.deployments_file, settings.delivery_window_s,
                                          custodians)
            verdict = "deployed"
        elif not settings.local_chain:
            verdict = "given"
        self.chain = ChainUp(endpoint, deployments, verdict)
        return self.chain

    # -- dapp ---------------------------------------------------------------------------------
    def build_dapp(self, step: Step = lambda _: None) -> None:
        """The dapp's own `npm ci` and `npm run build` when its static build is missing."""
        frontend = REPO_ROOT / "frontend"
        dist = dapp_dist(self.settings)
        if not self.settings.serve_dapp or (dist / "index.html").exists() \
                or not (frontend / "package.json").exists():
            return
        if not (frontend / "node_modules").exists():
            step("installing the dapp's packages (npm ci)")
            self._npm(frontend, "ci", "--no-audit", "--no-fund")
        step("building the dapp (npm run build)")
        self._npm(frontend, "run", "build")

    @staticmethod
    def _npm(frontend, *args: str) -> None:
        result = subprocess.run(["npm", *args], cwd=frontend, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise StackError(f"`npm {' '.join(args)}` failed in {frontend}:\n"
                             f"{result.stdout[-1500:]}{result.stderr[-1500:]}")

    # -- services -----------------------------------------------------------------------------
    def start_services(self) -> ProcessSupervisor:
        settings = self.settings
        self.ports = Ports.pick(settings)
        components = build_components(settings, self.chain.endpoint, self.ports)
        self.supervisor = ProcessSupervisor(components, settings.log_dir,
                                     max_restarts=settings.max_restarts,
                                     backoff_s=settings.restart_backoff_s,
                                     stop_timeout_s=settings.stop_timeout_s)
        self.supervisor.start()
        w3 = Web3(Web3.HTTPProvider(self.chain.endpoint.rpc_url))
        events = ChainEvents(w3, self.chain.deployments.address(),
                             self.chain.deployments.deployment_block,
                             span=ChainSettings().log_block_range)
        self.board = StatusBoard(self.supervisor, settings.http_timeout_s, events)
        return self.supervisor

    def tick(self) -> None:
        self.supervisor.poll()
        self.board.refresh()

    def wait_ready(self, on_tick: Callable[[], None] = lambda: None) -> None:
        deadline = time.monotonic() + self.settings.ready_timeout_s
        while True:
            self.tick()
            on_tick()
            if self.board.ready():
                return
            failed = [s.spec.name for s in self.supervisor.children.values() if s.phase == "failed"]
            if failed:
                raise StackError(f"failed: {', '.join(failed)} (logs in {self.settings.log_dir})")
            if time.monotonic() > deadline:
                waiting = [s.spec.name for s in self.supervisor.children.values()
                           if s.phase not in ("running", "done")
                           or not self.board.status.health.get(s.spec.name, True)]
                raise StackError(f"not ready within {self.settings.ready_timeout_s} s: "
                                 f"{', '.join(waiting)} (logs in {self.settings.log_dir})")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.anvil is not None:
            self.anvil.stop()  # SIGTERM: anvil writes its state file

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["DeployError", "Stack", "StackError"]
