"""The data plane's typed messages (services/peers/messages): each request and reply survives the
wire unchanged; a request of the wrong shape is refused with `invalid` before any handler runs —
over a real connection, from an admitted peer of the right role — and the refusal never echoes
what was sent."""

import math
import time

import pytest
import trio
from pulseledger_testkit.admission import OPERATOR

from services.peers.admission.credential import issue
from services.peers.messages import OPERATIONS, InvalidMessage
from services.peers.messages.agg_ingest import IngestReply, IngestRequest
from services.peers.messages.agg_state import MergeReply, WindowState
from services.peers.messages.windows import (
    NotifyReply,
    NotifyRequest,
    PredictReply,
    PredictRequest,
    StoreReply,
    StoreRequest,
)
from services.peers.node import PeerNode
from services.peers.window_store import CLOSED, WindowStore

from .attacker import Attacker
from .helpers import peer_settings

NOW = 1_796_000_000_000
READING = {"userId": "dev", "seq": 7, "ts_ms": NOW, "heartrate": 71.5, "rr": [840, 812],
           "signal": "rr"}
PREDICTION = {"status": "regular", "probability": 0.02}
RECEIPT = {"aggregator": "12D3KooWReplica", "credential": {"credential": {}, "sig": "c"},
           "body": {"primary": "12D3KooWPrimary", "devices": [["dev", "ab" * 32]]}, "sig": "s"}


def _state(tmp_path) -> dict:
    store = WindowStore(tmp_path / "w.db", 10_000, b"\x07" * 32)
    store.ingest([READING, {**READING, "seq": 8, "ts_ms": NOW + 20_000}])
    store.mark_closed(store.readings_of([("dev", NOW - NOW % 10_000)]))
    return store.export(["dev"])


def test_every_operation_round_trips_through_the_wire(tmp_path):
    window = {"device_id": "dev", "window_start_ms": NOW, "readings": [
        {"seq": 7, "ts_ms": NOW, "heartrate": 71.5, "rr": [840], "signal": "rr"},
        {"seq": 8, "ts_ms": NOW + 1, "heartrate": None, "rr": None, "signal": None}]}
    state = WindowState.of(_state(tmp_path))
    assert any(row[4] is None for row in state.readings)  # a closed window's scrubbed rows
    examples = [
        IngestRequest([READING], {"dev": {"sig": "s", "body": {}}}),
        IngestReply({"accepted": 1}, [["dev", 9]]),
        state, MergeReply(3),
        PredictRequest([window]), PredictReply([PREDICTION]),
        StoreRequest([{**window, "prediction": PREDICTION, "attestations": [{}]}], 10_000),
        StoreReply(["0x" + "ab" * 32]),
        NotifyRequest([{"device_id": "dev", "window_start_ms": NOW, "prediction": PREDICTION}]),
        NotifyReply(2),
    ]
    with_receipts = [IngestReply({"accepted": 1, "late": 1}, [], [[1, "late"]], [RECEIPT]),
                     WindowState.of(_state(tmp_path), want_receipt=True), MergeReply(3, RECEIPT)]
    for message in examples + with_receipts:
        assert type(message).from_wire(message.to_wire()) == message
    assert {request for request, _ in OPERATIONS.values()} >= {type(m) for m in examples[::2]}


@pytest.mark.parametrize("body", [
    {"rejected": [[0, "lost"]]}, {"rejected": [["dev", 1, "late"]]}, {"rejected": [[-1, "late"]]},
    {"receipts": [{"aggregator": "x"}]}, {"receipts": RECEIPT},
])
def test_a_malformed_ingest_reply__refused(body):
    with pytest.raises(InvalidMessage):
        IngestReply.from_wire({"accepted": 1, **body})


@pytest.mark.parametrize(("body", "what"), [
    ({}, "readings: missing"),
    ({"readings": {"seq": 1}}, "readings: expected a list"),
    ({"readings": [{**READING, "heartrate": "SECRET-181"}]}, "heartrate: expected a number"),
    ({"readings": [{**READING, "heartrate": math.nan}]}, "not a finite number"),
    ({"readings": [{**READING, "seq": True}]}, "seq: expected an integer"),
    ({"readings": [{**READING, "rr": [812.5]}]}, "rr: expected a list of integer ms"),
    ({"readings": [{**READING, "diagnosis": "SECRET"}]}, "unexpected field"),
    ({"readings": [READING], "attestations": ["SECRET"]}, "attestations: expected"),
])
def test_a_malformed_ingest_request__names_the_field_never_the_value(body, what):
    with pytest.raises(InvalidMessage) as refused:
        IngestRequest.from_wire(body)
    assert what in str(refused.value)
    assert "SECRET" not in str(refused.value)


def test_window_state_rows__wrong_width_or_type__refused():
    for body in ({"windows": [["dev", NOW]]}, {"windows": [["dev", NOW, 7]]},
                 {"devices": [["dev", "x", 0]]}, {"readings": [["dev", 1, NOW]]}):
        with pytest.raises(InvalidMessage):
            WindowState.from_wire(body)
    assert WindowState.from_wire({"windows": [["dev", NOW, CLOSED]]}).windows == [["dev", NOW, 2]]


def test_malformed_requests_over_the_wire__invalid__handler_never_runs(tmp_path):
    """An admitted master (a credential of the right role) sends agg.ingest bodies of the wrong
    shape to a real aggregator: each answer is `invalid`, counted, and nothing reaches the window
    store; a well-formed request on the same stream is answered."""
    master = Attacker()
    master.credential = issue(OPERATOR, master.peer_id, ["master"], 3600)
    device = "12D3KooWDeviceDeviceDeviceDeviceDeviceDeviceDevice"
    reading = {**READING, "userId": device, "ts_ms": int(time.time() * 1000)}
    bad = [{"readings": "all of them"}, {"readings": [{**reading, "seq": "1"}]},
           {"readings": [{**reading, "extra": 1}]}]

    async def main():
        async with trio.open_nursery() as nursery:
            aggregator = PeerNode(peer_settings(tmp_path, "agg", ["aggregation"]))
            await nursery.start(aggregator.run)
            await nursery.start(master.run)
            await master.dial(aggregator.address)
            replies = [await master.call(aggregator.peer_id, "agg.ingest", body) for body in bad]
            good = await master.call(aggregator.peer_id, "agg.ingest", {"readings": [reading]})
            stored = aggregator.roles["aggregation"].windows.devices()
            invalid = dict(aggregator.rpc.invalid)
            nursery.cancel_scope.cancel()
        return replies, good, stored, invalid

    replies, good, stored, invalid = trio.run(main)
    assert replies == [{"ok": False, "error": "invalid"}] * 3
    assert invalid == {"agg.ingest": 3}
    assert good["ok"] is True and good["body"] == {"accepted": 1}
    assert stored == [device]  # only the well-formed reading


@pytest.mark.parametrize(("context", "what"), [
    ({"rr_ms": ["SECRET"]}, "rr_ms: expected a list of at most 400 numbers"),
    ({"heart_rates": [60] * 401}, "heart_rates: expected a list of at most 400 numbers"),
    ({"rr_ms": [800], "diagnosis": "SECRET"}, "context: unexpected field"),
    ("SECRET", "context: expected an object"),
])
def test_a_malformed_window_context__refused_never_echoed(context, what):
    window = {"device_id": "dev", "window_start_ms": NOW, "readings": [], "context": context}
    with pytest.raises(InvalidMessage) as refused:
        PredictRequest.from_wire({"windows": [window]})
    assert what in str(refused.value)
    assert "SECRET" not in str(refused.value)
    # the shape the aggregator sends passes, and survives the wire
    good = {**window, "context": {"rr_ms": [812, 790.5]}}
    assert PredictRequest.from_wire(PredictRequest([good]).to_wire()).windows == [good]
