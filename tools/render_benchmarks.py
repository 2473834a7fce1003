"""Render every benchmarks/*.json into the README between the benchmark markers (run by make bench)."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def render() -> str:
    sections = []
    for path in sorted((ROOT / "benchmarks").glob("*.json")):
        figures = json.loads(path.read_text())
        rows = "\n".join(f"| `{name}` | {_format(value)} |" for name, value in figures.items())
        sections.append(f"**{path.stem}** (`benchmarks/{path.name}`)\n\n| metric | value |\n|---|---|\n{rows}")
    return "\n\n".join(sections) or "_No benchmark recorded yet: run `make bench`._"


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else str(value)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"{START}\n{render()}\n{END}"
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    readme.write_text(text)


if __name__ == "__main__":
    main()
