"""The one settings block of the chain every service reads: PULSELEDGER_CHAIN_*.

Several services had (and still accept) chain settings of their own under their prefix, e.g.
PULSELEDGER_GATEWAY_RPC_URL or PULSELEDGER_LISTENERS_CONFIRMATIONS. `for_service` lays those over
this block, field by field: the service's own setting when it is set (by its env name, or in code),
else this block's when it is set, else the service's own default. An empty own value ("" or None,
as the peers' `chain_rpc_url` defaults to) means the service has none: this block's value is used.
So an operator can set the chain once in PULSELEDGER_CHAIN_*, and nothing changes for a deployment
that set the older names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChainSettings(BaseSettings):
    """Where the chain is and which deployment of our contracts to use."""

    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_CHAIN_")

    rpc_url: str = "http://127.0.0.1:8545"
    deployments: Path = Path(".pulseledger/deployments.json")
    request_timeout_s: float = 10.0
    # Blocks on top of a block before a service acts on it. Unset: each service's own default
    # (the gateway serves after 1, the listeners email after 3), since their risks differ.
    confirmations: int | None = Field(None, ge=0)
    # Blocks one eth_getLogs may span: our SigV4 proxy refuses more than its max_log_block_range
    # (2,000 by default); longer spans are read in pieces (services/chain/log_ranges.py).
    log_block_range: int = Field(2_000, ge=1)

    def for_service(self, service: BaseSettings, own_names: Mapping[str, str]) -> ChainSettings:
        """This block with `service`'s own chain settings laid over it (see the module's rule).
        `own_names` maps a field of this block to the service's field for it."""
        update = {}
        for field, own in own_names.items():
            value = getattr(service, own)
            if value not in (None, "") and (own in service.model_fields_set
                                            or field not in self.model_fields_set):
                update[field] = value
        return self.model_copy(update=update)
