"""The endpoint's small parts on their own: token buckets, the client's address, the depth
sampler, and a store outage answered 503 (never a refusal, never a dead letter)."""

import math
import random

import pytest

from services.device_ingest.answers import retry_after
from services.device_ingest.backpressure import QueueBehind
from services.device_ingest.client_address import client_address
from services.runtime.token_buckets import TokenBuckets


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_buckets__burst_then_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0  # keys are apart
    clock.now += 0.5
    assert buckets.take("a") == 0.0 and buckets.wait("a") == pytest.approx(0.5)
    clock.now += 100
    assert buckets.wait("a", 3) == 0.0 and buckets.wait("a", 4) == math.inf


def test_buckets__take_spends_nothing_when_refused_charge_goes_into_debt():
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=5, clock=clock)
    assert buckets.take("a", 4) == 0.0
    assert buckets.take("a", 3) == pytest.approx(2.0)
    assert buckets.take("a", 1) == 0.0  # the refused take of 3 cost nothing
    buckets.charge("a", 3)  # paid although refused: a debt of 3
    assert buckets.wait("a") == pytest.approx(4.0)


def test_buckets__bounded_memory__a_forgotten_key_starts_full():
    buckets = TokenBuckets(rate=0.001, burst=1, max_keys=2, clock=Clock())
    for key in ("a", "b", "c"):
        assert buckets.take(key) == 0.0
    assert buckets.take("c") > 0 and buckets.take("b") > 0
    assert buckets.take("a") == 0.0


def test_buckets__refuse_nonsense_settings():
    with pytest.raises(ValueError):
        TokenBuckets(rate=0, burst=1)


@pytest.mark.parametrize("wait, seconds", [(0.01, 1), (1.0, 1), (1.2, 2), (math.inf, 3600)])
def test_retry_after__whole_seconds_never_zero(wait, seconds):
    assert retry_after(wait) == seconds


TRUSTED = frozenset({"127.0.0.1", "127.0.0.9"})


@pytest.mark.parametrize("remote, forwarded, expected", [
    ("127.0.5.5", "127.0.6.6", "127.0.5.5"),  # not from a trusted proxy: the header is ignored
    ("127.0.0.1", None, "127.0.0.1"),
    ("127.0.0.1", "127.0.6.6", "127.0.6.6"),
    ("127.0.0.1", "127.0.6.1, 127.0.6.6", "127.0.6.6"),  # whatever the client wrote in front
    ("127.0.0.1", "127.0.6.6, 127.0.0.9", "127.0.6.6"),  # through two trusted proxies
    ("127.0.0.1", "127.0.0.9", "127.0.0.1"),
    (None, None, "unknown"),
])
def test_client_address__forwarded_for_believed_only_from_trusted_proxies(remote, forwarded,
                                                                          expected):
    assert client_address(remote, forwarded, TRUSTED) == expected


class CountedQueue:
    def __init__(self, depth):
        self.value, self.asked = depth, 0

    def depth(self):
        self.asked += 1
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def test_queue_behind__sampled_at_most_every_refresh_retry_spread():
    clock, queue = Clock(), CountedQueue(10)
    behind = QueueBehind(queue, limit=10, refresh_s=1.0, retry_after_s=5, clock=clock,
                         rng=random.Random(1))
    assert behind.retry_after() is None and queue.asked == 1
    queue.value = 11
    assert behind.retry_after() is None and queue.asked == 1  # the sample is fresh
    clock.now += 1.0
    waits = {behind.retry_after() for _ in range(200)}
    assert queue.asked == 2 and waits == set(range(5, 11))


def test_queue_behind__unreadable_queue__raises_until_a_sample_exists():
    queue = CountedQueue(OSError("disk"))
    behind = QueueBehind(queue, limit=1, refresh_s=0.0, retry_after_s=1, clock=Clock())
    with pytest.raises(OSError):
        behind.retry_after()


def test_store_outage__no_verdict_no_dead_letter(tmp_path):
    """The record store cannot answer who a device is: the endpoint says 'try again' (503)
    rather than refusing a message it could not judge (at the boundary: a store that raises as
    an unreachable Firestore does)."""
    from services.device_ingest.admission import Admission, StoreUnavailable
    from services.device_ingest.metrics import Metrics
    from services.ingest.device_identity import DeviceKey
    from services.ingest.reading import Reading, sign_reading
    from services.ingest.settings import IngestSettings

    class Unreachable:
        def __init__(self):
            self.dead = []

        def get_device(self, device_id):
            raise ConnectionError("store unreachable")

        def dead_letter(self, *args):
            self.dead.append(args)

    key = DeviceKey.generate()
    store = Unreachable()
    admission = Admission(IngestSettings(), store, store, None, TokenBuckets(1, 600), Metrics())
    message = sign_reading(key, Reading(key.user_id, 70.0, 1, 1, (), "hr_averaged"))
    with pytest.raises(StoreUnavailable):
        admission.admit(message)
    assert store.dead == []

    from services.device_ingest.app import create_app
    from services.device_ingest.settings import DeviceIngestSettings

    app = create_app(DeviceIngestSettings(), admission=admission, metrics=Metrics(),
                     behind=QueueBehind(CountedQueue(0), 10, 1.0, 5))
    answer = app.test_client().post("/v1/readings", data=message,
                                    content_type="application/json")
    assert answer.status_code == 503 and answer.json["error"] == "unavailable"
    assert int(answer.headers["Retry-After"]) >= 1
    assert app.test_client().get("/healthz").status_code == 503
