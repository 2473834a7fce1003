"""Block timestamps remembered by block hash (services/gateway/block_times.py)."""

from __future__ import annotations

import threading

from services.gateway.block_times import BlockTimes


def counting_reader(times: dict[bytes, int]):
    reads: list[bytes] = []

    def read(block_hash: bytes) -> int:
        reads.append(block_hash)
        return times[block_hash]

    return read, reads


def test_block_times__each_hash_read_once():
    read, reads = counting_reader({b"\x01" * 32: 100, b"\x02" * 32: 200})
    times = BlockTimes(read)
    assert [times.of(b"\x01" * 32), times.of(b"\x02" * 32), times.of(b"\x01" * 32)] == [100, 200, 100]
    assert reads == [b"\x01" * 32, b"\x02" * 32]


def test_block_times__bounded__least_recently_used_forgotten():
    read, reads = counting_reader({bytes([i]) * 32: i for i in range(4)})
    times = BlockTimes(read, keep=2)
    for i in (0, 1, 0, 2):  # 1 is now the least recently used, and goes
        times.of(bytes([i]) * 32)
    times.of(bytes([0]) * 32)
    times.of(bytes([1]) * 32)
    assert reads == [bytes([i]) * 32 for i in (0, 1, 2, 1)]


def test_block_times__a_failed_read_is_not_remembered():
    calls = []

    def flaky(block_hash: bytes) -> int:
        calls.append(block_hash)
        if len(calls) == 1:
            raise ConnectionError("node away")
        return 7

    times = BlockTimes(flaky)
    try:
        times.of(b"\x03" * 32)
    except ConnectionError:
        pass
    assert times.of(b"\x03" * 32) == 7 and len(calls) == 2


def test_block_times__shared_by_threads():
    read, _ = counting_reader({bytes([i]) * 32: i for i in range(50)})
    times = BlockTimes(read, keep=10)
    errors = []

    def use() -> None:
        try:
            for i in range(500):
                assert times.of(bytes([i % 50]) * 32) == i % 50
        except AssertionError as error:
            errors.append(error)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(times._known) <= 10
