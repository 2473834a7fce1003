"""The shared upstream board (services/sigv4proxy/board.py) across real forked processes, as
gunicorn's workers share it: what one process records, every other sees at once."""

import os
import time

from services.sigv4proxy.board import MISMATCH, RECOVERY_CHECKS, UNVERIFIED, VERIFIED, UpstreamBoard

CHAIN = 31337


def _in_child(action) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            action()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_mismatch_recorded_in_one_process__seen_by_the_other():
    board = UpstreamBoard(2, CHAIN)
    board.record_chain(0, CHAIN, time.monotonic(), by_probe=True)
    assert board.get(0).serving
    _in_child(lambda: board.record_chain(0, 1234, time.monotonic(), by_probe=False))
    state = board.get(0)
    assert (state.chain, state.healthy, state.seen_chain_id) == (MISMATCH, False, 1234)
    assert board.get(1).chain == UNVERIFIED


def test_older_check_finishing_late__does_not_undo_a_newer_mismatch():
    board = UpstreamBoard(1, CHAIN)
    older = time.monotonic()
    newer = older + 0.001
    assert board.record_chain(0, 1234, newer, by_probe=True) == "mismatch"
    assert board.record_chain(0, CHAIN, older, by_probe=True) == "stale"
    assert board.get(0).chain == MISMATCH


def test_mismatch__only_repeated_probes_bring_it_back():
    board = UpstreamBoard(1, CHAIN)
    board.record_chain(0, 1234, time.monotonic(), by_probe=True)
    assert board.record_chain(0, CHAIN, time.monotonic(), by_probe=False) == "unchanged"
    for _ in range(RECOVERY_CHECKS - 1):
        assert board.record_chain(0, CHAIN, time.monotonic(), by_probe=True) == "unchanged"
        assert board.get(0).chain == MISMATCH
    assert board.record_chain(0, CHAIN, time.monotonic(), by_probe=True) == "verified"
    assert board.get(0).chain == VERIFIED


def test_unreachable__verification_lapses__mismatch_stays():
    board = UpstreamBoard(2, CHAIN)
    board.record_chain(0, CHAIN, time.monotonic(), by_probe=True)
    board.record_chain(1, 1234, time.monotonic(), by_probe=True)
    board.record_unreachable(0, time.monotonic())
    board.record_unreachable(1, time.monotonic())
    assert (board.get(0).chain, board.get(0).healthy) == (UNVERIFIED, False)
    assert board.get(1).chain == MISMATCH


def test_head__kept_only_while_verified():
    board = UpstreamBoard(1, CHAIN)
    board.record_head(0, 50, time.monotonic())
    assert board.get(0).head is None  # not verified yet
    board.record_chain(0, CHAIN, time.monotonic(), by_probe=True)
    board.record_head(0, 50, time.monotonic())
    assert board.get(0).head == 50
    board.record_chain(0, 1234, time.monotonic(), by_probe=True)
    assert board.get(0).head is None


def test_probe_claim__one_process_per_interval():
    board = UpstreamBoard(1, CHAIN)
    assert board.claim_probe(0, 60) == 0.0
    _in_child(lambda: os._exit(0 if board.claim_probe(0, 60) > 0 else 1))
    assert board.claim_probe(0, 60) > 59
