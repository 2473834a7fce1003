"""Irregular-rhythm model: evaluation figures, rebuild determinism, size and speed.

Writes benchmarks/model.json (flat: metric -> number, unit in the name). Accuracy figures are
deterministic (seeded); speed is measured on one core: the process is pinned to one CPU and
onnxruntime to one thread, features included, and depends on the machine's load (recorded).
Run: uv run python benchmarks/bench_model.py   (or `make bench`)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
import warnings
from pathlib import Path

from services.predict.onnx_predictor import OnnxPredictor
from services.predict.settings import PredictSettings
from services.predict.training.datasets import simulate_cohort
from services.predict.training.evaluate import evaluate
from services.predict.training.train import build
from services.runtime.gc_tuning import tune_for_throughput

BANDS = ("rmssd_lt50", "rmssd_50_120", "rmssd_gt120")
# Issue 16, judged at the shipped thresholds (one threshold serves everyone): sensitivity over
# ordinary, slow and fast AF; specificity in EVERY HRV band; one artefact per window keeps 97%.
GOALS = {
    "rr_sensitivity": 0.95,
    "hr_sensitivity": 0.85,
    **{f"{kind}_{band}_specificity": 0.98 for kind in ("rr", "hr") for band in BANDS},
    **{f"{kind}_{band}_artefacts_specificity": 0.97 for kind in ("rr", "hr") for band in BANDS},
    "real_normal_rr_specificity_ci_low": 0.98,
    "real_normal_hr_specificity_ci_low": 0.98,
}
# At most this many false alerts per person-hour (k-of-n), sinus people, every band.
AT_MOST_GOALS = {
    f"false_alerts_per_person_hour_{kind}_sinus_{band}": 0.05
    for kind in ("rr", "hr")
    for band in BANDS
}
# Judged on CPU time of the one pinned core: the shared 2-core machine's wall clock measures the
# other engineers' load as much as this code (the load average is recorded next to the figures).
SPEED_GOALS = {"batch_windows_per_cpu_s": 100_000}  # and one window < 1 ms


def speed(predictor: OnnxPredictor, batch_size: int = 100_000) -> dict:
    cohorts = [
        simulate_cohort(name, range(40), seed=99)
        for name in ("sinus", "af_cohen", "sinus_artefacts")
    ]
    rr_windows = [w for c in cohorts for w in c.windows(with_rr=True)]
    hr_windows = [w for c in cohorts for w in c.windows(with_rr=False)]
    mixed = (rr_windows + hr_windows) * (batch_size // (len(rr_windows) + len(hr_windows)) + 1)
    mixed = mixed[:batch_size]

    def rate(windows, rounds=5):
        """(windows per wall-clock second, windows per CPU second of this process), medians."""
        predictor.predict_batch(windows[:1000])
        wall, cpu = [], []
        for _ in range(rounds):
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            predictor.predict_batch(windows)
            wall.append(time.perf_counter() - wall_start)
            cpu.append(time.process_time() - cpu_start)
        return len(windows) / statistics.median(wall), len(windows) / statistics.median(cpu)

    single_wall, single_cpu = [], []
    for window in mixed[:3000]:
        wall_start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
        predictor.predict(window)
        single_cpu.append((time.process_time_ns() - cpu_start) / 1000)
        single_wall.append((time.perf_counter_ns() - wall_start) / 1000)
    single_wall.sort()
    figures = {"machine_load_avg_1min": os.getloadavg()[0], "machine_cpus": os.cpu_count()}
    for name, windows in (
        ("batch", mixed),
        ("batch_rr", (rr_windows * 5)[: batch_size // 2]),
        ("batch_hr", (hr_windows * 5)[: batch_size // 2]),
    ):
        figures[f"{name}_windows_per_s"], figures[f"{name}_windows_per_cpu_s"] = rate(windows)
    figures["single_window_latency_us_p50"] = single_wall[len(single_wall) // 2]
    figures["single_window_latency_us_p99"] = single_wall[int(len(single_wall) * 0.99)]
    figures["single_window_cpu_us_mean"] = statistics.fmean(single_cpu)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accuracy-only",
        action="store_true",
        help="record the (deterministic) accuracy figures, no timing",
    )
    parser.add_argument(
        "--speed-check",
        type=int,
        metavar="WINDOWS",
        default=0,
        help="only check the speed code runs on this many windows; writes nothing",
    )
    args = parser.parse_args()  # fmt: skip
    warnings.simplefilter("ignore")
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    settings = PredictSettings(backend="onnx", intra_op_threads=1)
    predictor = OnnxPredictor.from_settings(settings)
    if args.speed_check:
        print(json.dumps(speed(predictor, args.speed_check), indent=2))
        return
    shipped = settings.model_path.read_bytes()

    figures: dict[str, float] = {"model_size_bytes": len(shipped)}
    rebuilt, _ = build()
    figures["model_rebuild_sha256_matches"] = int(
        hashlib.sha256(rebuilt).hexdigest() == hashlib.sha256(shipped).hexdigest()
    )
    figures.update(evaluate(predictor))
    for name, goal in GOALS.items():
        figures[f"goal_{name}_met"] = int(figures[name] >= goal)
    for name, goal in AT_MOST_GOALS.items():
        figures[f"goal_{name}_met"] = int(figures[name] <= goal)
    figures["speed_recorded"] = int(not args.accuracy_only)
    if not args.accuracy_only:
        # First with CPython's collector defaults, for comparison; then as a serving process
        # runs it (`pulseledger peer` tunes its collector once it runs, services/runtime/
        # gc_tuning.py): a batch makes ~10 objects per window, and in this process's large heap
        # the default thresholds run full collections inside the timed batches.
        figures["batch_windows_per_cpu_s_default_gc"] = speed(predictor)["batch_windows_per_cpu_s"]
        tune_for_throughput()
        figures.update(speed(predictor))
        for name, goal in SPEED_GOALS.items():
            figures[f"goal_{name}_met"] = int(figures[name] >= goal)
        # Also recorded, for transparency: the same goal on the wall clock (load-dependent).
        figures["goal_batch_windows_per_s_wall_met"] = int(
            figures["batch_windows_per_s"] >= 100_000
        )
        figures["goal_single_window_under_1ms_met"] = int(
            figures["single_window_latency_us_p50"] < 1000
            and figures["single_window_cpu_us_mean"] < 1000
        )
    rounded = {k: v if isinstance(v, int) else round(float(v), 6) for k, v in figures.items()}
    out = Path(__file__).with_name("model.json")
    out.write_text(json.dumps(rounded, indent=2) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if "goal" in k}, indent=2))


if __name__ == "__main__":
    main()
