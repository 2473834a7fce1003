"""Render deploy/systemd and deploy/env for one host: where the checkout (with its .venv) lives,
where the settings go, the state root systemd gives StateDirectory= (/var/lib) and the user.

    uv run python tools/render_units.py --out /tmp/units
    sudo cp /tmp/units/systemd/* /etc/systemd/system/ && sudo cp /tmp/units/env/* /etc/pulseledger/

docs/deploy.md says the rest (secrets, which instances to enable)."""

from __future__ import annotations

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"


def render(text: str, prefix: Path, etc: Path, state: Path, user: str) -> str:
    for placeholder, value in (("@PREFIX@", prefix), ("@ETC@", etc), ("@STATE@", state),
                               ("@USER@", user)):
        text = text.replace(placeholder, str(value))
    return text


def render_all(out: Path, prefix: Path = REPO, etc: Path = Path("/etc/pulseledger"),
               state: Path = Path("/var/lib/pulseledger"), user: str = "pulseledger") -> list[Path]:
    written = []
    for folder in ("systemd", "env"):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for source in sorted((DEPLOY / folder).iterdir()):
            target = out / folder / source.name
            target.write_text(render(source.read_text(), prefix, etc, state, user))
            written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--prefix", type=Path, default=REPO, help="the checkout with its .venv")
    parser.add_argument("--etc", type=Path, default=Path("/etc/pulseledger"))
    parser.add_argument("--state", type=Path, default=Path("/var/lib/pulseledger"))
    parser.add_argument("--user", default="pulseledger")
    args = parser.parse_args()
    for path in render_all(args.out, args.prefix.resolve(), args.etc, args.state, args.user):
        print(path)


if __name__ == "__main__":
    main()
