"""Dapp figures → benchmarks/dapp.json.

- dapp_js_gzip_kb / dapp_js_raw_kb / dapp_css_gzip_kb: the production build's JavaScript and CSS
  (every file under frontend/dist/assets, chunks loaded on demand included), gzip level 9, in
  KiB. Goal: JS ≤ 250 KB gzipped.
- dapp_js_initial_gzip_kb: what the first page load fetches (the entry chunk index.html names);
  the QR encoder and viem's CCIP helper load only when used.
- dapp_tti_median_ms / dapp_tti_p90_ms: time to interactive on localhost in headless Debian
  Chromium, fresh context (empty cache) per sample: navigation start → the "Connect" button shown
  and enabled (config fetched, React rendered, injected wallet discovered over EIP-6963).
- dapp_dom_content_loaded_median_ms: DOMContentLoaded end, same samples.
- load_average_1m: the machine is shared; read the timings with it.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FRONTEND = REPO / "frontend"
OUT = Path(__file__).with_name("dapp.json")


def gzip_kib(paths: list[Path]) -> float:
    return round(sum(len(gzip.compress(p.read_bytes(), compresslevel=9)) for p in paths) / 1024, 1)


def main() -> None:
    if not (FRONTEND / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
    subprocess.run(["node", "scripts/gen-contracts.mjs", "--deployments", "none"], cwd=FRONTEND,
                   check=True)
    subprocess.run(["npx", "vite", "build"], cwd=FRONTEND, check=True, stdout=subprocess.DEVNULL)
    assets = FRONTEND / "dist" / "assets"
    js = sorted(assets.glob("*.js"))
    css = sorted(assets.glob("*.css"))
    html = (FRONTEND / "dist" / "index.html").read_text()
    initial = [p for p in js if p.name in html]
    timing = json.loads(subprocess.run(["node", "e2e/bench-tti.mjs"], cwd=FRONTEND, check=True,
                                       capture_output=True, text=True).stdout.strip().splitlines()[-1])
    figures = {
        "dapp_js_gzip_kb": gzip_kib(js),
        "dapp_js_initial_gzip_kb": gzip_kib(initial),
        "dapp_js_raw_kb": round(sum(p.stat().st_size for p in js) / 1024, 1),
        "dapp_css_gzip_kb": gzip_kib(css),
        "dapp_tti_median_ms": round(timing["tti_median_ms"], 1),
        "dapp_tti_p90_ms": round(timing["tti_p90_ms"], 1),
        "dapp_dom_content_loaded_median_ms": round(timing["dcl_median_ms"], 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
