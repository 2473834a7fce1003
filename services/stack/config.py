"""One configuration for the whole system: `pulseledger.toml` and/or `.env`, turned into the
`PULSELEDGER_<SERVICE>_<KEY>` environment variables every service's settings class already reads.

    # pulseledger.toml
    [records]
    backend = "firestore"
    firestore_project = "my-project"

    [gateway]
    cors_origins = ["http://127.0.0.1:5173"]

becomes PULSELEDGER_RECORDS_BACKEND=firestore, PULSELEDGER_RECORDS_FIRESTORE_PROJECT=my-project,
PULSELEDGER_GATEWAY_CORS_ORIGINS='["http://127.0.0.1:5173"]' (lists and tables as JSON, which
pydantic-settings parses). A variable already set in the real environment always wins.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from dotenv import dotenv_values


class ConfigError(ValueError):
    pass


def toml_to_env(path: Path) -> dict[str, str]:
    try:
        tables = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from error
    env: dict[str, str] = {}
    for service, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: `{service}` must be a table like [stack] or [gateway]")
        for key, value in table.items():
            env[f"PULSELEDGER_{service.upper()}_{key.upper()}"] = _as_env(value)
    return env


def _as_env(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def load_config(toml_file: Path | None, env_file: Path | None) -> dict[str, str]:
    """The variables the files define and the real environment does not (.env wins over toml)."""
    found: dict[str, str] = {}
    if toml_file is not None and toml_file.exists():
        found.update(toml_to_env(toml_file))
    if env_file is not None and env_file.exists():
        found.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    return {k: v for k, v in found.items() if k not in os.environ}


def apply_config(toml_file: Path | None, env_file: Path | None) -> dict[str, str]:
    """Put the configuration into this process's environment, so children inherit it too."""
    added = load_config(toml_file, env_file)
    os.environ.update(added)
    return added
