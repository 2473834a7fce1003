"""The shell recipes of docs/devices.md (`<!-- recipe: NAME -->` before a ```sh block), run as
printed: each doc test builds on what a device maker copies, not on our own code."""

import re
import subprocess
from pathlib import Path

DEVICES_DOC = Path(__file__).parents[1] / "docs" / "devices.md"


def recipe(name: str) -> str:
    match = re.search(rf"<!-- recipe: {name} -->\n```sh\n(.*?)```", DEVICES_DOC.read_text(),
                      re.DOTALL)
    assert match, f"docs/devices.md has no recipe {name}"
    return match.group(1)


def run(script: str, cwd: Path, **env) -> str:
    """bash -euo pipefail with only the system's tools on PATH; its stdout."""
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout
