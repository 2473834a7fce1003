"""`pulseledger up`: seconds from launch to "Up." (every component healthy, demo actors done).

- cold: right after install: no compiled contracts (`.build` removed), no dapp build
  (`frontend/dist` removed), fresh state: anvil, `ape compile` + deploy, `npm run build`, services;
- cold, compiled: the same with contracts and dapp already built (a second checkout's first `up`);
- warm: restart with the chain state and deployment reused.
Then Ctrl-C, timed too. Writes benchmarks/up.json."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services.stack.anvil import free_port

REPO = Path(__file__).resolve().parents[1]


def time_up(state_dir: Path, chain_port: int) -> tuple[float, float]:
    env = dict(os.environ, PULSELEDGER_STACK_STATE_DIR=str(state_dir),
               PULSELEDGER_STACK_CHAIN_PORT=str(chain_port), PULSELEDGER_STACK_GATEWAY_PORT="0",
               PULSELEDGER_STACK_DAPP_PORT="0", PULSELEDGER_STACK_PROXY_PORT="0",
               PULSELEDGER_STACK_LISTENERS_PORT="0", PULSELEDGER_STACK_PEERS_PORT="0",
               PULSELEDGER_STACK_DEVICES_PORT="0",
               PULSELEDGER_STACK_STATE_INTERVAL_S="1", COLUMNS="200")
    began = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "services", "up"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if line.startswith("Up."):
            break
    else:
        raise SystemExit(f"up exited with {process.wait()} before it was ready")
    ready = time.monotonic() - began
    stopping = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    return ready, time.monotonic() - stopping


def main() -> None:
    for built in (REPO / ".build", REPO / "frontend" / "dist"):
        shutil.rmtree(built, ignore_errors=True)  # both are rebuilt by `up` itself
    with tempfile.TemporaryDirectory() as workdir:
        cold, cold_stop = time_up(Path(workdir) / "cold", free_port())
        compiled, _ = time_up(Path(workdir) / "compiled", free_port())
        state_dir, port = Path(workdir) / "warm", free_port()
        time_up(state_dir, port)
        warm, warm_stop = time_up(state_dir, port)
    figures = {"up_cold_start_s": round(cold, 2), "up_cold_start_compiled_s": round(compiled, 2),
               "up_warm_start_s": round(warm, 2), "up_stop_s": round(max(cold_stop, warm_stop), 2),
               "up_cold_start_goal_s": 60, "up_cold_start_meets_goal": int(cold < 60),
               "load_average_1m": round(os.getloadavg()[0], 2)}
    (REPO / "benchmarks" / "up.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
