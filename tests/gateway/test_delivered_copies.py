"""The delivered-copies cache's own rules, without a chain (revocation, retirement, erasure, key
loss, tampering and a replaced version on the very next read with a warm copy:
test_buyer_caches.py, test_blobs.py)."""

from services.gateway.delivered_copies import ENTRY_OVERHEAD, DeliveredCopies

RECORD, OTHER, HASH = "0x" + "aa" * 32, "0x" + "bb" * 32, b"\x01" * 32
SUBJECT = "pl-" + "ab" * 16


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_copy__same_hash_and_subject__served_else_dropped():
    copies = DeliveredCopies(10_000, 60)
    copies.put(RECORD, 1, HASH, SUBJECT, b"labelled")
    assert copies.get(RECORD, 1, HASH, SUBJECT) == b"labelled"
    assert copies.get(RECORD, 2, HASH, SUBJECT) is None  # another purchase
    assert copies.get(RECORD, 1, b"\x02" * 32, SUBJECT) is None  # the registry names other bytes
    assert (RECORD, 1) not in copies  # and the stale copy is gone
    copies.put(RECORD, 1, HASH, SUBJECT, b"labelled")
    assert copies.get(RECORD, 1, HASH, "pl-" + "1" * 32) is None  # master key rotated
    assert (RECORD, 1) not in copies


def test_copy__record_forgotten__every_copy_of_it_dropped():
    copies = DeliveredCopies(10_000, 60)
    for purchase in (1, 2):
        copies.put(RECORD, purchase, HASH, SUBJECT, b"labelled")
    copies.put(OTHER, 1, HASH, SUBJECT, b"other")
    copies.forget(RECORD)  # the store refused it (erased, key lost, tampered)
    assert (RECORD, 1) not in copies and (RECORD, 2) not in copies and (OTHER, 1) in copies


def test_copy__older_than_max_age__dropped_by_the_next_read():
    clock = Clock()
    copies = DeliveredCopies(10_000, 60, clock=clock)
    copies.put(RECORD, 1, HASH, SUBJECT, b"labelled")
    clock.now = 59.9
    assert copies.get(RECORD, 1, HASH, SUBJECT) == b"labelled"
    clock.now = 60.0
    assert copies.get(OTHER, 7, HASH, SUBJECT) is None  # any read sweeps
    assert len(copies) == 0


def test_copies__bytes_bounded__oldest_go_first_and_large_bodies_never_kept():
    body = b"x" * 1000
    copies = DeliveredCopies(3 * (len(body) + ENTRY_OVERHEAD), 60)
    for purchase in range(1, 5):
        copies.put(RECORD, purchase, HASH, SUBJECT, body)
    assert (RECORD, 1) not in copies and all((RECORD, p) in copies for p in (2, 3, 4))
    copies.put(OTHER, 1, HASH, SUBJECT, b"y" * 2000)  # over a quarter of the bound
    assert (OTHER, 1) not in copies and len(copies) == 3


def test_copies__disabled__nothing_kept():
    for copies in (DeliveredCopies(0, 60), DeliveredCopies(10_000, 0)):
        copies.put(RECORD, 1, HASH, SUBJECT, b"labelled")
        assert len(copies) == 0
