"""The label-parts cache's own rules and the labelling it serves, without a chain (revocation,
retirement, erasure, key loss, tampering and a replaced version on the very next read with warm
parts: test_buyer_caches.py, test_blobs.py)."""

from services.gateway.label_parts import ENTRY_OVERHEAD, PIECE_OVERHEAD, LabelParts
from services.market import pseudonyms

RECORD, OTHER, HASH = "0x" + "aa" * 32, "0x" + "bb" * 32, b"\x01" * 32
PARTS = (b"head", b"tail")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_parts__joined__what_label_gives():
    document = f'{{"subject":"{pseudonyms.UNLABELLED}","rows":["{pseudonyms.UNLABELLED}",1]}}\n'
    subject = pseudonyms.purchase_subject(lambda label, data: bytes(range(32)), 7)
    parts = pseudonyms.unlabelled_parts(document.encode())
    assert len(parts) == 3
    assert pseudonyms.join_labelled(parts, subject) == pseudonyms.label(document.encode(), subject)
    assert pseudonyms.UNLABELLED.encode() not in pseudonyms.join_labelled(parts, subject)


def test_parts__same_hash__served_else_dropped():
    cache = LabelParts(10_000, 60)
    cache.put(RECORD, HASH, PARTS)
    assert cache.get(RECORD, HASH) == PARTS
    assert cache.get(OTHER, HASH) is None
    assert cache.get(RECORD, b"\x02" * 32) is None  # the registry names other bytes
    assert RECORD not in cache  # and the stale entry is gone


def test_parts__record_forgotten__dropped():
    cache = LabelParts(10_000, 60)
    cache.put(RECORD, HASH, PARTS)
    cache.put(OTHER, HASH, PARTS)
    cache.forget(RECORD)  # the store refused it (erased, key lost, tampered)
    assert RECORD not in cache and OTHER in cache


def test_parts__older_than_max_age__dropped_by_the_next_read():
    clock = Clock()
    cache = LabelParts(10_000, 60, clock=clock)
    cache.put(RECORD, HASH, PARTS)
    clock.now = 59.9
    assert cache.get(RECORD, HASH) == PARTS
    clock.now = 60.0
    assert cache.get(OTHER, HASH) is None  # any read sweeps
    assert len(cache) == 0


def test_parts__bytes_bounded__oldest_go_first_and_large_entries_never_kept():
    pieces = (b"x" * 1000,)
    size = ENTRY_OVERHEAD + 1000 + PIECE_OVERHEAD
    cache = LabelParts(4 * size, 60)  # four entries, each a quarter of the bound
    records = ["0x" + f"{i:064x}" for i in range(5)]
    for record in records:
        cache.put(record, HASH, pieces)
    assert records[0] not in cache and all(r in cache for r in records[1:])
    cache.put(OTHER, HASH, (b"y" * 2000,))  # over a quarter of the bound
    assert OTHER not in cache and len(cache) == 4


def test_parts__disabled__nothing_kept():
    for cache in (LabelParts(0, 60), LabelParts(10_000, 0)):
        cache.put(RECORD, HASH, PARTS)
        assert len(cache) == 0


def test_parts__fresh_only_within_recheck_of_the_last_authenticated_read():
    clock = Clock()
    cache = LabelParts(10_000, 60, recheck_s=5, clock=clock)
    cache.put(RECORD, HASH, PARTS)
    assert cache.fresh(RECORD, HASH) == PARTS
    assert cache.fresh(RECORD, b"\x02" * 32) is None  # other registered bytes: never fresh
    clock.now = 5.0
    assert cache.fresh(RECORD, HASH) is None  # due: the next read fetches and decrypts again
    assert cache.get(RECORD, HASH) == PARTS  # the pieces themselves are still good to join
    cache.checked(RECORD)
    clock.now = 9.0
    assert cache.fresh(RECORD, HASH) == PARTS
    clock.now = 61.0
    cache.checked(RECORD)  # authenticated again, but an entry lives at most max_age_s
    assert cache.fresh(RECORD, HASH) is None and RECORD not in cache


def test_parts__recheck_zero__never_fresh():
    cache = LabelParts(10_000, 60)
    cache.put(RECORD, HASH, PARTS)
    assert cache.fresh(RECORD, HASH) is None and cache.get(RECORD, HASH) == PARTS
