"""Render benchmarks/*.json into the README between the benchmark markers (run by make bench).

First the headline figures beside the goals the issues set, then every recorded figure per file,
folded. Values always come from the JSON files: nothing here is a result.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"

# file stem -> [(metric, goal as the issue states it)]
HEADLINES = {
    "gas": [("purchase_gas", "≤ 60,000 (with logAccess ≤ 90,000)"), ("log_access_gas", "≤ 35,000 (30,000 stretch)"),
            ("add_record_gas", "≤ 120,000"),
            ("approve_gas", "≤ 55,000"), ("approve_by_signature_gas", "≤ 65,000"),
            ("withdraw_gas", "≤ 35,000"), ("revoke_1_grants_gas", "= 1,000 grants ±5%"),
            ("revoke_1000_grants_gas", "= 1 grant ±5%"), ("purchase_1_grants_gas", "= 1,000 grants ±5%"),
            ("purchase_1000_grants_gas", "= 1 grant ±5%")],
    "records": [("records_sqlite_write_per_s", "≥ 2,000"), ("records_sqlite_read_p50_ms", "< 5"),
                ("records_sqlite_anchor_per_s", "≥ 1,000 windows/s (the pipeline's rate)"),
                ("records_firestore_write_per_s", ""), ("records_firestore_read_p50_ms", ""),
                ("records_firestore_anchor_per_s", "")],
    "gateway": [("gateway_authorised_read_per_s", ""), ("gateway_authorised_read_p99_ms", ""),
                ("gateway_honest_success_rate_under_abuse", "1.0 (sign-in and reads succeed)"),
                ("gateway_honest_read_p99_ms_under_abuse", ""),
                ("gateway_abusive_refused_share", "")],
    "device_ingest": [("device_ingest_batch60_readings_per_s", ""),
                      ("device_ingest_batch60_p99_ms", ""),
                      ("device_ingest_fhir60_readings_per_s", ""),
                      ("device_ingest_single_messages_per_s", "")],
    "listeners": [("email_latency_p99_ms", "< 1,000"), ("backfill_s", "< 30 (10,000 blocks)"),
                  ("backfill_blocks_per_s", "")],
    "pipeline": [("all_in_one_capacity_live_readings_per_s",
                  "≥ 10,000 sustained (12,000/s offered; once closing runs)"),
                 ("all_in_one_live_readings_per_s", "10,000 offered: keep up"),
                 ("all_in_one_live_queue_depth_at_measure_end_messages",
                  "no deeper than at the start (kept up)"),
                 ("all_in_one_live_readings_lost", "0"),
                 ("all_in_one_live_due_to_stored_p99_ms", "< 1,000"),
                 ("all_in_one_backlog_readings_per_s", "≥ 10,000"),
                 ("all_in_one_machine_reference_ms",
                  "one core's speed (benchmarks/machine_speed.py; lower is faster)"),
                 ("all_in_one_live_machine_reference_median_ms",
                  "the same, sampled while the live phase streamed"),
                 ("separate_live_readings_per_s", "≥ 2,000"), ("separate_live_readings_lost", "0"),
                 ("separate_live_due_to_stored_p99_ms", "< 1,000"),
                 ("separate_backlog_readings_per_s", "≥ 2,000"),
                 ("kills_readings_lost", "0"), ("kills_readings_duplicated", "0"),
                 ("kills_readings_dead_lettered", ""),
                 ("admission_handshake_ms_p50", ""),
                 ("scaleout_1_aggregators_readings_per_s", ""),
                 ("scaleout_2_aggregators_readings_per_s", ""),
                 ("scaleout_4_aggregators_readings_per_s", ""),
                 ("scaleout_4_vs_1_speedup", "4 would be linear (2 cores here)"),
                 ("scaleout_4_vs_2_speedup", "2 would be linear (both replicate every reading)"),
                 ("scaleout_1_aggregators_cpu_ms_per_reading", "(every peer process)"),
                 ("scaleout_2_aggregators_cpu_ms_per_reading", "(each reading replicated)"),
                 ("scaleout_4_aggregators_cpu_ms_per_reading", ""),
                 ("scaleout_4_vs_2_cpu_per_reading_ratio",
                  "1.0: more aggregators cost nothing more per reading"),
                 ("scaleout_4_aggregators_host_busy_cores", "of 2")],
    "pipeline_ab": [("change_all_in_one_live_readings_per_s_percent",
                     "≥ −5% against the code before admission (same machine, same hour)"),
                    ("change_all_in_one_live_due_to_stored_p99_ms_percent", "≤ +5%"),
                    ("change_all_in_one_backlog_readings_per_s_percent", "")],
    "market": [("market_bundle_seal_ms_per_1000_windows", ""),
               ("market_purchase_to_first_byte_p50_ms", ""),
               ("market_purchase_to_first_byte_p99_ms", ""),
               ("market_authorised_reads_per_s", "one client, in-process, 2.7 MB bundle"),
               ("market_served_reads_per_s_small_8_clients", "≥ 200 (2 cores)"),
               ("market_served_reads_per_s_large_8_clients", "≥ 200 (2 cores)"),
               ("market_served_cpu_steal_share", "(other guests' share of the CPU)")],
    "validation": [("validation_us_per_reading", "(a master's work per reading)"),
                   ("ed25519_verify_libsodium_us", "(one per message)"),
                   ("ed25519_verify_openssl_us", "(replaced 2026-12-06)")],
    "window_store": [("window_store_writer_us_per_reading",
                      "(an aggregator's one writer, a reading of the live stream's pattern)"),
                     ("window_store_before_writer_us_per_reading", "(the layout before 2026-12-07)")],
    "directory": [("directory_route_cached_us", "a few µs a reading"),
                  ("directory_lookup_p50_ms", "")],
    "model": [("rr_sensitivity", "≥ 0.95 at the shipped threshold"),
              ("hr_sensitivity", "≥ 0.85 at the shipped threshold"),
              ("rr_rmssd_gt120_sensitivity_at_98spec", "≥ 0.95 in every HRV band"),
              ("rr_without_context_sensitivity", "(a person's first minute)"),
              ("real_normal_rr_specificity", "≥ 0.98"), ("real_normal_hr_specificity", "≥ 0.98"),
              ("batch_windows_per_cpu_s", "≥ 100,000 (one core)"),
              ("batch_windows_per_s", "≥ 100,000 (one core)"),
              ("single_window_latency_us_p50", "< 1,000")],
    "proxy": [("static_added_p50_ms", "< 2"), ("static_proxied_requests_per_s", "≥ 1,500"),
              ("anvil_proxied_requests_per_s", "")],
    "dapp": [("dapp_js_gzip_kb", "≤ 250"), ("dapp_tti_median_ms", "")],
    "up": [("up_cold_start_s", "< 60"), ("up_warm_start_s", "")],
}


def render() -> str:
    files = {path.stem: json.loads(path.read_text())
             for path in sorted((ROOT / "benchmarks").glob("*.json"))}
    if not files:
        return "_No benchmark recorded yet: run `make bench`._"
    headline_rows = [
        f"| {stem} | `{metric}` | {_format(files[stem][metric])} | {goal} |"
        for stem, metrics in HEADLINES.items() if stem in files
        for metric, goal in metrics if metric in files[stem]
    ]
    parts = ["| area | metric | value | goal |\n|---|---|---|---|\n" + "\n".join(headline_rows)]
    for stem, figures in files.items():
        rows = "\n".join(f"| `{name}` | {_format(value)} |" for name, value in figures.items())
        parts.append(f"<details><summary>every figure in <code>benchmarks/{stem}.json</code>"
                     f"</summary>\n\n| metric | value |\n|---|---|\n{rows}\n\n</details>")
    return "\n\n".join(parts)


def _format(value) -> str:
    if value is None:  # a phase that did not complete: recorded as a gap, said why in docs
        return "— (did not complete)"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else str(value)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    block = f"{START}\n{render()}\n{END}"
    text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL)
    readme.write_text(text)


if __name__ == "__main__":
    main()
