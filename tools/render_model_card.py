"""Render the figures of docs/model-card.md from benchmarks/model.json (between the figures
markers), so the card's tables are the recorded figures and nothing else. Run after
`benchmarks/bench_model.py`; `--check` exits 1 when the card is out of date.

    uv run python tools/render_model_card.py [--model-json PATH] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "docs" / "model-card.md"
START = "<!-- figures:start (tools/render_model_card.py renders this part from benchmarks/model.json) -->"
END = "<!-- figures:end -->"

INPUTS = {"rr": "RR intervals", "hr": "1 Hz HR (beat-derived)",
          "hr_missing20": "1 Hz HR, 20% of seconds missing"}
BANDS = {"rmssd_lt50": "< 50 ms", "rmssd_50_120": "50–120 ms", "rmssd_gt120": "> 120 ms"}
CONDITIONS = {  # name: (label, metric)
    "sinus": ("Sinus, every HRV (40% rare ectopy)", "specificity"),
    "sinus_artefacts": ("Sinus + one detection artefact per 10 s", "specificity"),
    "frequent_ectopy": ("Frequent ectopy (6–20/min)", "specificity"),
    "regular_tachycardia": ("Regular tachycardia 130–200 bpm", "specificity"),
    "af_cohen": ("AF, ordinary rate (model A)", "sensitivity"),
    "af_slow": ("AF, slow / rate-controlled (~50–70 bpm)", "sensitivity"),
    "af_fast": ("AF, fast (~100–150 bpm)", "sensitivity"),
    "af_corino": ("AF model B (out of family)", "sensitivity"),
    "af_cohen_low_irregularity": ("AF, low irregularity (stress)", "sensitivity"),
}
ALERTED = ("af_cohen", "af_slow", "af_fast", "af_corino", "paroxysmal_af", "frequent_ectopy",
           "sinus")
FALSE_ALERT_COHORTS = {"sinus": ("all", *BANDS), "sinus_artefacts": ("all", *BANDS),
                       "frequent_ectopy": ("all",)}
REAL = {"pyhrv_SampleNNISeriesLong": "pyhrv long", "pyhrv_SampleNNISeriesShort": "pyhrv short",
        "heartpy_data": "heartpy data", "heartpy_data2": "data2", "heartpy_data3": "data3"}


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def with_ci(f: dict, key: str, form=pct) -> str:
    """value (low–high); the interval's bounds without the % sign, as the card writes them."""
    low, high = f[f"{key}_ci_low"], f[f"{key}_ci_high"]
    bound = (lambda v: form(v).rstrip("%"))
    return f"{form(f[key])} ({bound(low)}–{bound(high)})"


def three(value: float) -> str:
    return f"{value:.3f}"


def render(f: dict) -> str:
    out = ["## Figures (held-out simulated people; 95% CIs bootstrapped over people)", "",
           "All figures are in `benchmarks/model.json` (seeded, so deterministic; recorded with",
           "`--accuracy-only`). \"Sensitivity\" is over ordinary + slow + fast AF (model A) unless the row",
           "names a condition; \"specificity\" over sinus rhythm at every HRV (40% with rare ectopy).", "",
           "### Overall (sinus at every HRV vs ordinary + slow + fast AF), per window", "",
           "| Input | AUC | Sensitivity at 98% specificity (ROC) | Shipped threshold: sensitivity | specificity |",
           "|---|---|---|---|---|"]
    for key, label in INPUTS.items():
        out.append(f"| {label} | {with_ci(f, f'{key}_auc', three)} | "
                   f"{with_ci(f, f'{key}_sensitivity_at_98spec')} | "
                   f"{with_ci(f, f'{key}_sensitivity')} | {with_ci(f, f'{key}_specificity')} |")
    out += ["", "### By HRV band (the person's RMSSD before ectopy), per window, shipped threshold", "",
            "| Input | Band | sinus people | specificity (goal ≥ 98%) | with one artefact per 10 s (goal ≥ 97%) | AUC | sensitivity at this band's 98% specificity (ROC) |",
            "|---|---|---|---|---|---|---|"]
    for key, label in INPUTS.items():
        for band, band_label in BANDS.items():
            p = f"{key}_{band}"
            out.append(f"| {label} | {band_label} | {f[f'{p}_sinus_people']} | "
                       f"{with_ci(f, f'{p}_specificity')} | "
                       f"{with_ci(f, f'{p}_artefacts_specificity')} | {with_ci(f, f'{p}_auc', three)} | "
                       f"{with_ci(f, f'{p}_sensitivity_at_98spec')} |")
    out += ["", "### By condition, per window, shipped threshold (insufficient = share of windows not judged)", "",
            "| Condition | metric | " + " | ".join(INPUTS.values()) + " |", "|---|---|---|---|---|"]
    for condition, (label, metric) in CONDITIONS.items():
        cells = [f"{with_ci(f, f'{key}_{condition}_{metric}')}; insufficient "
                 f"{pct(f[f'{key}_{condition}_insufficient_share'])}" for key in INPUTS]
        out.append(f"| {label} | {metric} | " + " | ".join(cells) + " |")
    out += ["", "### Alerts (5 of 6)", "", "People alerted within their 5 minutes:", "",
            "| Condition | " + " | ".join(INPUTS.values()) + " |", "|---|---|---|---|"]
    for condition in ALERTED:
        out.append(f"| {condition} | " + " | ".join(
            with_ci(f, f"alert_5of6_{key}_{condition}_people_alerted_share") for key in INPUTS) + " |")
    out += ["", "False alerts per person-hour (one hour per person, goal ≤ 0.05 in every band):", "",
            "| Cohort | Band | people | " + " | ".join(INPUTS.values()) + " |", "|---|---|---|---|---|---|"]
    for cohort, bands in FALSE_ALERT_COHORTS.items():
        for band in bands:
            key = f"false_alerts_per_person_hour_rr_{cohort}_{band}"
            cells = [with_ci(f, f"false_alerts_per_person_hour_{k}_{cohort}_{band}", three)
                     for k in INPUTS]
            out.append(f"| {cohort} | {BANDS.get(band, band)} | {f[f'{key}_people']} | "
                       + " | ".join(cells) + " |")
    out += ["", "### Averaging watch (declared hr_averaged, 5-beat mean, no RR)", "",
            (f"Answered insufficient signal: sinus {pct(f['hr_averaged_sinus_insufficient_share'])}, "
            f"AF {pct(f['hr_averaged_af_cohen_insufficient_share'])}."), "",
            "### Real normal recordings", ""]
    for kind in ("rr", "hr"):
        out.append(f"- {kind}: specificity {with_ci(f, f'real_normal_{kind}_specificity')} over "
                   f"{f[f'real_normal_{kind}_windows']} windows; alerts "
                   f"{f[f'real_normal_{kind}_alerts_5of6']}; MIT-BIH 208 (ectopy) flagged "
                   f"{pct(f[f'ectopy_mitbih208_{kind}_false_alarm_rate'])}")
    per_recording = ", ".join(
        f"{label} {pct(f[f'real_{name}_rr_specificity'])} / {pct(f[f'real_{name}_hr_specificity'])}"
        for name, label in REAL.items())
    out += ["", (f"Per recording (real, normal; specificity RR / HR): {per_recording}. MIT-BIH 208 "
            f"(frequent PVCs): {pct(f['ectopy_mitbih208_rr_false_alarm_rate'])} (RR) / "
            f"{pct(f['ectopy_mitbih208_hr_false_alarm_rate'])} (HR) of windows flagged, "
            f"{f['ectopy_mitbih208_rr_alerts_5of6']} / {f['ectopy_mitbih208_hr_alerts_5of6']} alerts.")]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-json", type=Path, default=ROOT / "benchmarks" / "model.json")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    card = CARD.read_text()
    head, rest = card.split(START, 1)
    _, tail = rest.split(END, 1)
    figures = json.loads(args.model_json.read_text())
    updated = f"{head}{START}\n{render(figures)}\n{END}{tail}"
    if args.check:
        sys.exit(0 if updated == card else 1)
    CARD.write_text(updated)


if __name__ == "__main__":
    main()
