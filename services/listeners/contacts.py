"""Where email addresses come from: the record store (set at onboarding), never the chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from services.chain.deployments import Deployments

if TYPE_CHECKING:
    from services.records import RecordsSettings


class ContactDirectory(Protocol):
    def get_contacts(self, owner: str) -> list[str]:
        """Email addresses for a patient, requester or buyer address (lower-case 0x-hex)."""


def open_contacts(deployments: Deployments,
                  settings: RecordsSettings | None = None) -> ContactDirectory:
    """The record store of this deployment (services.records), in the namespace the gateway
    writes onboarding data to: chain id, genesis hash and every deployed contract's address."""
    from services.records import ChainIdentity, RecordsSettings, open_store

    identity = ChainIdentity.of(deployments)
    return open_store(settings or RecordsSettings(), identity)
