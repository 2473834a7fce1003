"""All-in-one pipeline, this checkout against an earlier revision, on the same machine in the same
hour → benchmarks/pipeline_ab.json.

Runs of the same code differ by up to ±30% from one machine (or hour) to the next here, so a
figure recorded on another day says little about a regression; alternating two revisions on one
machine does. Each round runs phase 1 of bench_pipeline.py (backlog, then live) of each side in a
fresh process, alternately; the earlier revision runs from a git worktree with its own uv env
(its own dependencies), through its own bench_all_in_one.

    uv run python benchmarks/pipeline_ab.py <revision> [rounds]

Sizes: BENCH_DEVICES / BENCH_SECONDS / BENCH_LIVE_SECONDS as for bench_pipeline.py (default here
10,000 × 30 s, the live phase 30 s too, no capacity phase).
Not part of `make bench` (it builds a second environment and takes ~4 min per run).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One run: import the checkout's own benchmark module, run phase 1, print its figures. Both
# sides run the all-in-one peer in a process of its own (the benchmark's wearables and counting
# took the peer's GIL when they shared its process): a revision from before 2026-12-05 has no
# such phase 1, so its separate-process phase runs with one peer of every role instead.
RUN_PHASE_1 = """
import json, sys, tempfile
from pathlib import Path
sys.path[:0] = [str(Path.cwd()), str(Path.cwd() / "benchmarks")]
import bench_pipeline
work = Path(tempfile.mkdtemp(prefix="ab-")) / "all"
if hasattr(bench_pipeline, "ALL_IN_ONE"):
    figures = bench_pipeline.bench_all_in_one(work)
else:
    bench_pipeline.SEPARATE = [bench_pipeline.PeerSpec("master-all", bench_pipeline.ALL_ROLES)]
    bench_pipeline.SEPARATE_DEVICES = bench_pipeline.DEVICES
    separate, supervisor = bench_pipeline.bench_separate(work)
    supervisor.stop()
    figures = {"all_in_one_" + key[len("separate_"):]: value for key, value in separate.items()}
print("FIGURES " + json.dumps(figures))
"""
KEPT = ("all_in_one_live_readings_per_s", "all_in_one_live_due_to_stored_p50_ms",
        "all_in_one_live_due_to_stored_p99_ms", "all_in_one_live_queue_depth_max_messages",
        "all_in_one_live_readings_lost", "all_in_one_live_readings_dead_lettered",
        "all_in_one_backlog_readings_per_s", "all_in_one_backlog_readings_lost")


def worktree(revision: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="pipeline-ab-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), revision], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        subprocess.run(["uv", "sync", "--all-groups", "--compile-bytecode", "-q"], cwd=path,
                       check=True, env={**os.environ, "UV_FROZEN": "1"})
    except BaseException:  # no environment, no runs: leave no worktree behind either
        remove_worktree(path)
        raise
    return path


def remove_worktree(path: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False,
                   capture_output=True)


def run_phase_1(checkout: Path) -> dict:
    env = {**os.environ, "BENCH_DEVICES": os.environ.get("BENCH_DEVICES", "10000"),
           "BENCH_SECONDS": os.environ.get("BENCH_SECONDS", "30"),
           "BENCH_LIVE_SECONDS": os.environ.get("BENCH_LIVE_SECONDS", "30"),
           "BENCH_CAPACITY_DEVICES": os.environ.get("BENCH_CAPACITY_DEVICES", "0")}
    out = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-c", RUN_PHASE_1],
                         cwd=checkout, env=env, check=True, capture_output=True, text=True).stdout
    figures = json.loads(next(line for line in out.splitlines()
                              if line.startswith("FIGURES "))[len("FIGURES "):])
    return {key: figures[key] for key in KEPT}


def main() -> None:
    revision, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rev = subprocess.run(["git", "rev-parse", "--short", revision], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    earlier = worktree(revision)
    runs: dict[str, list[dict]] = {"earlier": [], "this": []}
    try:
        for _ in range(rounds):
            for side, checkout in (("earlier", earlier), ("this", ROOT)):
                runs[side].append(run_phase_1(checkout))
                print(side, json.dumps(runs[side][-1]), flush=True)
    finally:
        remove_worktree(earlier)
    result = {"earlier_revision": rev, "this_revision": head, "rounds": rounds,
              "devices": int(os.environ.get("BENCH_DEVICES", "10000")),
              "seconds": int(os.environ.get("BENCH_SECONDS", "30")), "cpu_cores": os.cpu_count()}
    for side, figures in runs.items():
        for key in KEPT:
            values = [f[key] for f in figures]
            result[f"{side}_{key}_runs"] = values
            result[f"{side}_{key}_mean"] = round(statistics.fmean(values), 1)
    for key in ("all_in_one_live_readings_per_s", "all_in_one_live_due_to_stored_p99_ms",
                "all_in_one_backlog_readings_per_s"):
        result[f"change_{key}_percent"] = round(
            100 * (result[f"this_{key}_mean"] / result[f"earlier_{key}_mean"] - 1), 1)
    (ROOT / "benchmarks" / "pipeline_ab.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
