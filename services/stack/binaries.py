"""Where the foundry binaries are: on PATH, or inside the npm packages `make setup` installs."""

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class BinaryNotFound(RuntimeError):
    pass


def foundry_binary(name: str) -> str:
    on_path = shutil.which(name)
    if on_path:
        return on_path
    bundled = REPO_ROOT / "node_modules" / "@foundry-rs" / f"{name}-linux-amd64" / "bin" / name
    if bundled.exists():
        return str(bundled)
    raise BinaryNotFound(f"{name} not found on PATH or in node_modules: run `make setup`")
