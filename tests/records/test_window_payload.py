"""The window record format (services/records/window_payload.py): the builder's output passes the
validator, malformed payloads are refused with a message, and the dapp's Vitest fixture is exactly
what the builder produces today (so the dapp's tests read the format the peers write)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from services.records import InvalidInput
from services.records.window_payload import (
    build_window_payload,
    dapp_fixture,
    reading,
    sample_payload,
    validate_window_payload,
)

FIXTURE = Path(__file__).resolve().parents[2] / "frontend/test/fixtures/window-payload.json"


def test_build__the_readings_a_peer_stores__valid_and_shaped_as_issue_5_defines():
    payload = build_window_payload(
        "12D3KooWDev", 20_000, 10_000,
        [{"seq": 7, "ts_ms": 20_500, "heartrate": 71.5, "rr": [840.0]},
         {"seq": 8, "ts_ms": 21_500, "heartrate": 72.0, "rr": []}],
        {"status": "regular", "probability": 0.1})
    assert payload["readings"][0] == {"seq": 7, "ts_ms": 20_500, "heartrate": 71.5, "rr": [840.0]}
    assert validate_window_payload(copy.deepcopy(payload)) == payload


def test_build__a_reading_without_rr__gets_an_empty_list():
    payload = build_window_payload("d", 0, 10_000, [{"seq": 1, "ts_ms": 5, "heartrate": 60}],
                                   {"status": "insufficient_data"})
    assert payload["readings"] == [reading(1, 5, 60, [])]


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p.pop("window_ms"), "fields must be"),
    (lambda p: p.update(hr=[70]), "fields must be"),
    (lambda p: p.update(device_id=""), "device_id"),
    (lambda p: p.update(window_ms=0), "window_ms"),
    (lambda p: p.update(window_start_ms=-1), "window_start_ms"),
    (lambda p: p["readings"][0].update(bpm=70), "exactly the fields"),
    (lambda p: p["readings"][0].pop("heartrate"), "exactly the fields"),
    (lambda p: p["readings"][0].update(heartrate="70"), "heartrate must be a number"),
    (lambda p: p["readings"][0].update(heartrate=float("nan")), "heartrate must be a number"),
    (lambda p: p["readings"][0].update(ts_ms=p["window_start_ms"] + p["window_ms"]),
     "inside the window"),
    (lambda p: p["readings"][1].update(seq=p["readings"][0]["seq"]), "seq repeats"),
    (lambda p: p["readings"].reverse(), "ordered"),
    (lambda p: p["readings"][0].update(rr=[True]), "rr must be"),
    (lambda p: p.update(prediction={"irregular": True}), "status"),
])
def test_validate__malformed__invalid_input_says_what(change, message):
    payload = sample_payload(3)
    change(payload)
    with pytest.raises(InvalidInput, match=message):
        validate_window_payload(payload)


def test_dapp_fixture__equals_the_builders_output():
    """Regenerate with `uv run python -m services.records.window_payload > frontend/test/fixtures/window-payload.json`."""
    assert json.loads(FIXTURE.read_text()) == dapp_fixture()
    for payload in dapp_fixture()["windows"]:
        validate_window_payload(payload)
