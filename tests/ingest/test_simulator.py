import json
import statistics
import time

from services.ingest.queues.local import LocalQueue
from services.ingest.simulator import load_replay, make_fleet, onboard, run


def test_fleet__deterministic_keys_and_irregular_users_vary_more():
    fleet, again = make_fleet(10, 0.3, seed="s"), make_fleet(10, 0.3, seed="s")
    assert [d.user_id for d in fleet] == [d.user_id for d in again]
    assert [d.irregular for d in fleet].count(True) == 3

    def rr_cv(device):
        rr = [x for _ in range(60) for x in device.model.second()[1]]
        return statistics.pstdev(rr) / statistics.fmean(rr)

    irregular = [rr_cv(d) for d in fleet if d.irregular]
    regular = [rr_cv(d) for d in fleet if not d.irregular]
    assert min(irregular) > max(regular)


def test_run__fast_mode_writes_every_reading_signed_and_validatable(tmp_path, store, settings):
    from services.ingest.validation import validate_message

    fleet = make_fleet(4, 0.25, seed="run")
    onboard(fleet, store)
    queue = LocalQueue(tmp_path / "q.db")
    assert run(queue, fleet, 12, batch_size=5, realtime=False) == 48
    messages = queue.receive(1000)
    now_ms = time.time_ns() // 10**6
    readings = [r for m in messages
                for r in validate_message(m.body, store, settings, now_ms).valid]
    assert len(readings) == 48
    assert {(r.user_id, r.seq) for r in readings} == {(d.user_id, s) for d in fleet
                                                       for s in range(1, 13)}


def test_replay__file_values_replace_the_model(tmp_path):
    path = tmp_path / "replay.jsonl"
    path.write_text("\n".join(json.dumps({"device": 0, "heartrate": 61.0 + i, "rr": [980]})
                              for i in range(3)))
    fleet = make_fleet(2, 0.0, seed="replay")
    queue = LocalQueue(tmp_path / "q.db")
    run(queue, fleet, 3, realtime=False, replay=load_replay(path))
    bodies = [json.loads(m.body)["reading"] for m in queue.receive(100)]
    assert sorted({b["heartrate"] for b in bodies}) == [61.0, 62.0, 63.0]


def test_staggered_fleet__devices_read_and_send_at_their_own_times__aligned_fleet_together():
    from services.ingest.simulator import signed_messages

    def send_seconds(fleet):
        """For each device, the seconds in which it sent a batch (batches of 5 over 20 s)."""
        out = {}
        for second, messages in signed_messages(fleet, 20, 1_700_000_000_000, 5):
            for raw in messages:
                out.setdefault(json.loads(raw)["batch"][0]["userId"], []).append(second)
        return out

    staggered, aligned = make_fleet(40, seed="st"), make_fleet(40, seed="st", stagger=False)
    assert len({d.phase_ms for d in staggered}) > 30 and {d.phase_ms for d in aligned} == {0}
    assert len({tuple(s) for s in send_seconds(staggered).values()}) > 1
    assert {tuple(s) for s in send_seconds(aligned).values()} == {(4, 9, 14, 19)}


def test_simulate_cli__aligned_flag__every_reading_on_the_second(tmp_path):
    from click.testing import CliRunner

    from services.ingest.cli import simulate

    for flag, expect_aligned in (("--aligned", True), (None, False)):
        data_dir = tmp_path / (flag or "staggered")
        args = ["--users", "6", "--seconds", "3", "--fast", "--data-dir", str(data_dir)]
        result = CliRunner().invoke(simulate, args + ([flag] if flag else []))
        assert result.exit_code == 0, result.output
        queue = LocalQueue(data_dir / "queue.db")
        stamps = [json.loads(m.body)["reading"]["ts_ms"] for m in queue.receive(100)]
        assert len(stamps) == 18
        assert (len({ts % 1000 for ts in stamps}) == 1) is expect_aligned


def test_fleet__declares_rr__hr_only_fleets_send_no_intervals():
    from services.ingest.simulator import signed_messages

    def readings(fleet):
        out = []
        for _, messages in signed_messages(fleet, 12, 1_700_000_000_000, 4):
            out += [r for raw in messages for r in json.loads(raw)["batch"]]
        return out

    rr_fleet = readings(make_fleet(3, 0.34, seed="sig"))
    assert {r["signal"] for r in rr_fleet} == {"rr"} and any(r.get("rr") for r in rr_fleet)
    for signal in ("hr_instantaneous", "hr_averaged"):
        hr_only = readings(make_fleet(3, 0.34, seed="sig", signal=signal))
        assert {r["signal"] for r in hr_only} == {signal}
        assert not any("rr" in r for r in hr_only)
        assert all(25 <= r["heartrate"] <= 250 for r in hr_only)


def test_simulate_cli__signal_option(tmp_path):
    from click.testing import CliRunner

    from services.ingest.cli import simulate

    args = ["--users", "2", "--seconds", "2", "--fast", "--signal", "hr_averaged",
            "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 0, result.output
    bodies = [json.loads(m.body)["reading"] for m in LocalQueue(tmp_path / "queue.db").receive(10)]
    assert len(bodies) == 4 and {b["signal"] for b in bodies} == {"hr_averaged"}
