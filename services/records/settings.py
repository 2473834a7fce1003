"""Settings of the record store (env prefix `PULSELEDGER_RECORDS_`)."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.records.base import ChainIdentity, InvalidInput
from services.records.keystore import Keyring
from services.runtime.durable_files import write_atomically


class RecordsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELEDGER_RECORDS_", extra="ignore")

    backend: Literal["sqlite", "firestore"] = "sqlite"

    # SQLite: one sub-directory per chain namespace; keys in their own file, optionally elsewhere
    sqlite_dir: Path = Path(".pulseledger/records")
    sqlite_key_dir: Path | None = None  # default: same directory as the records

    # Firestore (FIRESTORE_EMULATOR_HOST is honoured by the client; this sets it for you)
    firestore_project: str = "pulseledger-local"
    firestore_emulator_host: str | None = None
    firestore_database: str = "(default)"
    firestore_key_database: str | None = None  # keys in another database if you have one
    firestore_prefix: str = "pulseledger"

    # Master key (32 bytes, base64): env var wins over file. A missing file is created (0600)
    # only if create_master_key is true — the embedded default for `make up`.
    master_key: SecretStr | None = None
    master_key_file: Path | None = Path(".pulseledger/records-master.key")
    create_master_key: bool = True
    # Old master keys still accepted for unwrapping while a rotation is in progress.
    previous_master_key_files: list[Path] = Field(default_factory=list)

    # Chain identity: a different identity opens a fresh namespace
    chain_id: int = 31337
    genesis_hash: str = "0x" + "00" * 32
    contracts: dict[str, str] = Field(default_factory=dict)

    watch_poll_interval_s: float = 0.2

    def chain_identity(self) -> ChainIdentity:
        return ChainIdentity(self.chain_id, self.genesis_hash, dict(self.contracts))

    def load_master_key(self) -> bytes:
        if self.master_key is not None:
            return decode_master_key(self.master_key.get_secret_value())
        if self.master_key_file is None:
            raise InvalidInput("no master key: set PULSELEDGER_RECORDS_MASTER_KEY or _FILE")
        path = self.master_key_file
        if not path.exists():
            if not self.create_master_key:
                raise InvalidInput(f"master key file {path} does not exist")
            try:
                write_master_key_file(path, os.urandom(32))
            except FileExistsError:
                pass  # another process made it a moment ago: its key is the store's
        return decode_master_key(path.read_text())

    def keyring(self, required: bool = True) -> Keyring | None:
        """The master key (and the previous ones). Not required: None when none is configured
        or its file is absent — and then no file is created (operator commands)."""
        if not required and self.master_key is None and (
            self.master_key_file is None or not self.master_key_file.exists()
        ):
            return None
        return Keyring(self.load_master_key(), self.load_previous_master_keys())

    def load_previous_master_keys(self) -> list[bytes]:
        return [decode_master_key(p.read_text()) for p in self.previous_master_key_files]


def decode_master_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise InvalidInput("master key is not valid base64") from exc
    if len(key) != 32:
        raise InvalidInput("master key must be 32 bytes (base64 of 32 random bytes)")
    return key


def write_master_key_file(path: Path, key: bytes) -> None:
    """FileExistsError if there is one: a master key is never overwritten. Whole and on disk
    before any record is sealed under it: an empty key file after a crash would lose them all."""
    write_atomically(path, (base64.b64encode(key).decode() + "\n").encode(), 0o600,
                     exclusive=True)
