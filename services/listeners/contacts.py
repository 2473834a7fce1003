"""Where email addresses come from: the record store (set at onboarding), never the chain."""

from __future__ import annotations

from typing import Protocol


class ContactDirectory(Protocol):
    def get_contacts(self, owner: str) -> list[str]:
        """Email addresses for a patient, requester or buyer address (lower-case 0x-hex)."""


def open_contacts(chain_id: int, genesis_hash: str, contracts: dict[str, str]) -> ContactDirectory:
    """The record store of this chain (services.records): patients' and requesters' contacts."""
    from services.records import ChainIdentity, RecordsSettings, open_store

    return open_store(RecordsSettings(), ChainIdentity(chain_id, genesis_hash, contracts))
