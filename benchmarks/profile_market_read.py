"""Where an authorised buyer read spends its time at the server (not a recorded benchmark).

The market scene (market_scene.py), then `GET /records/<id>?purchase_id=` through the Flask app
in this process (no HTTP server, no client: the gateway's own work per read), for the large
bundle and the small one: µs per read over `PROFILE_READS` reads each, then the same reads under
cProfile, the top functions by cumulative time printed.

    .venv/bin/python benchmarks/profile_market_read.py            # 1,000-window bundle
    PROFILE_WINDOWS=200 PROFILE_READS=100 .venv/bin/python benchmarks/profile_market_read.py
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

from eth_account.messages import encode_defunct

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from market_scene import build_scene

from services.gateway.app import create_app
from services.gateway.siwe import build_message

WINDOWS = int(os.environ.get("PROFILE_WINDOWS", "1000"))
READS = int(os.environ.get("PROFILE_READS", "300"))
TOP = int(os.environ.get("PROFILE_TOP", "30"))


def sign_in(client, account) -> str:
    issued = client.get("/auth/nonce").get_json()
    text = build_message(domain=issued["domain"], address=account.address, uri=issued["uri"],
                         chain_id=issued["chain_id"], nonce=issued["nonce"],
                         statement=issued["statement"])
    signature = account.sign_message(encode_defunct(text=text)).signature.to_0x_hex()
    response = client.post("/auth/sign-in", json={"message": text, "signature": signature})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["token"]


def main() -> None:
    scene = build_scene(WINDOWS)
    try:
        app = create_app(scene.settings, ledger=scene.ledger, store=scene.store)
        client = app.test_client()
        purchase, _ = scene.buy()
        headers = {"Authorization": f"Bearer {sign_in(client, purchase.buyer)}"}
        for name, record in (("large", scene.large), ("small", scene.small)):
            path = f"/records/{record.bundle_id}?purchase_id={purchase.purchase_id}"
            first = client.get(path, headers=headers)  # confirms delivery once
            assert first.status_code == 200, first.get_json()
            size = len(first.data)
            started = time.perf_counter()
            for _ in range(READS):
                assert client.get(path, headers=headers).status_code == 200
            per_read = (time.perf_counter() - started) / READS * 1e6
            print(f"{name}: {size:,} bytes, {per_read:,.0f} µs per read at the server "
                  f"({READS} reads)")
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(READS):
                client.get(path, headers=headers)
            profile.disable()
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(TOP)
            print(text.getvalue())
    finally:
        scene.close()


if __name__ == "__main__":
    main()
