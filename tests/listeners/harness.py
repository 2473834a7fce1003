"""Builds a daemon in-process for tests, with the settings tests set small."""

from __future__ import annotations

from pathlib import Path

from services.chain.settings import ChainSettings
from services.listeners.daemon import build
from services.listeners.settings import ListenerSettings
from services.notify import NotifySettings, open_notifier


def listener_settings(state_dir: Path, **overrides) -> ListenerSettings:
    values = {"state_dir": state_dir, "confirmations": 3, "poll_interval_s": 0.02,
                  "retry_initial_s": 0.01, "retry_multiplier": 2.0, "retry_max_s": 0.05, "max_attempts": 3,
                  "rpc_retry_initial_s": 0.01, "rpc_retry_max_s": 0.05, "node_down_after_s": 5,
                  "sqlite_synchronous": "NORMAL"}
    values.update(overrides)
    return ListenerSettings(**values)


GATEWAY_URL = "https://gateway.example"  # never dialled: it only names the one-click stop


def smtp_notifier(port: int):
    return open_notifier(NotifySettings(backend="smtp", smtp_host="127.0.0.1", smtp_port=port,
                                        smtp_timeout_s=2, gateway_url=GATEWAY_URL))


def build_daemon(which, ledger, rpc_url, state_dir, contacts, notifier, **overrides):
    return build(which, listener_settings(state_dir, **overrides),
                 ChainSettings(rpc_url=rpc_url, deployments=ledger.deployments_file,
                               request_timeout_s=2),
                 notifier=notifier, contacts=contacts)
