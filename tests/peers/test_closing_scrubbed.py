"""A window due here may hold a scrubbed reading (heart rate and RR gone): one a merge brought
from an aggregator that closed the window holding it and sent its content on. The round sends
the window's other readings on without it; passed on, it failed the whole window at storage's
check (a stored record's readings hold numbers), its good readings dead-lettered with it."""

from services.peers.window_store import CLOSED, NEVER, OPEN
from services.records.window_payload import build_window_payload
from tests.peers.closing_harness import (
    CheckingDownstream,
    close_until,
    lone_aggregator,
    window_states,
)


def _scrubbed_row(device: str, seq: int, ts_ms: int) -> list:
    """A reading row as a merge carries one whose window closed: no content, its digest kept."""
    return [device, seq, ts_ms - ts_ms % 10_000, ts_ms, None, None, "d" * 32, None, None]


def test_scrubbed_readings_are_left_out__the_rest_stored__an_empty_window_just_closes(tmp_path):
    downstream = CheckingDownstream()
    role = lone_aggregator(tmp_path, downstream)
    role.windows.merge({"readings": [_scrubbed_row("mixed", 1, 1_000),
                                     _scrubbed_row("only-scrubbed", 1, 1_000)],
                        "windows": [["mixed", 0, OPEN], ["only-scrubbed", 0, OPEN]],
                        "devices": [["mixed", 1_000, NEVER], ["only-scrubbed", 1_000, NEVER]]})
    role.windows.ingest([{"userId": "mixed", "seq": seq, "ts_ms": seq * 1_000,
                          "heartrate": 60.0 + seq, "rr": [900]} for seq in (2, 3)])

    close_until(role, 2)

    assert downstream.stored == [("mixed", 0)]  # the empty one is not sent on
    (item,) = downstream.items
    assert [(r["seq"], r["heartrate"]) for r in item["readings"]] == [(2, 62.0), (3, 63.0)]
    payload = build_window_payload("mixed", 0, 10_000, item["readings"], item["prediction"])
    assert [r["seq"] for r in payload["readings"]] == [2, 3]  # storage's own check takes it
    assert window_states(role) == {("mixed", 0): CLOSED, ("only-scrubbed", 0): CLOSED}
    assert role.store.dead_letters("reading") == []
    assert role.metrics()["aggregation_scrubbed_readings_skipped"] == 2
