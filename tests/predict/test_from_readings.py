"""Windows built from the peers' stored readings carry the signal their readings declare."""

from predict_samples import IRREGULAR_RR

from services.predict.from_readings import window_from_item


def item(signals, rr=None):
    readings = [
        {
            "heartrate": 60 + i,
            "ts_ms": i * 1000,
            "seq": i,
            "signal": s,
            **({"rr": rr} if rr else {}),
        }
        for i, s in enumerate(signals)
    ]
    return {"device_id": "dev", "window_start_ms": 10_000, "readings": readings}


def test_rr_readings__rr_window_with_all_intervals():
    window = window_from_item(item(["rr"] * 10, rr=IRREGULAR_RR[:2]))
    assert (window.signal, len(window.rr_ms), len(window.heart_rates)) == ("rr", 20, 10)


def test_mixed_signals__least_informative_wins():
    assert window_from_item(item(["rr"] * 9 + ["hr_averaged"])).signal == "hr_averaged"
    assert window_from_item(item(["rr", "hr_instantaneous"])).signal == "hr_instantaneous"


def test_readings_without_signal__window_without_one__refused(predictor):
    undeclared = item(["rr"] * 10)
    del undeclared["readings"][3]["signal"]
    window = window_from_item(undeclared)
    assert window.signal is None and window.rr_ms is None
    assert predictor.predict(window).reason.startswith("signal: not declared")
