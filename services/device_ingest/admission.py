"""Admitting one device message: the masters' own validation, the device's budget, a dead letter
for every refusal, then the queue. Framework-free: app.py puts HTTP around it.

Order, and why:
1. validate_message (services/ingest/validation.py, the function the masters call): envelope,
   format, schema, registered device, signature, then per reading ranges, timestamps, seq
   repeats and signal. Nothing is written yet.
2. Once the signature checked out, the device's reading budget (keyed on the authenticated
   device, so no one can spend another device's budget by naming it). Over budget: 429 and
   nothing written — the device sends the same message again later.
3. Every refusal to the record store's dead letters (kind "reading", with the reason), as the
   masters do; the store keeps one per (payload, reason), so a retried message or the master
   judging it again adds none.
4. A message with at least one valid reading goes into the queue as it came (the signature must
   travel with it: the masters validate it again, storage checks it again). Its refused readings
   are refused again there, which adds no dead letter (3).
"""

from __future__ import annotations

import logging
import time

from services.device_ingest.answers import Answer, accepted, refusal, rejected_reading, slow_down
from services.ingest.settings import IngestSettings
from services.ingest.validation import validate_message
from services.runtime.token_buckets import TokenBuckets

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The record store or the queue could not be reached: nothing was decided, try again."""


class Admission:
    def __init__(self, ingest: IngestSettings, devices, store, queue,
                 device_budget: TokenBuckets, metrics, clock=time.time):
        self.ingest, self.devices, self.store, self.queue = ingest, devices, store, queue
        self.device_budget = device_budget
        self.metrics = metrics
        self._clock = clock

    def admit(self, raw: bytes) -> tuple[Answer, bool]:
        """The answer, and whether the message was signed by its registered device (refusals
        of unsigned messages are paid for from the client's reject budget)."""
        try:
            verdict = validate_message(raw, self.devices, self.ingest, int(self._clock() * 1000))
        except Exception as exc:  # a store outage: nothing judged
            raise StoreUnavailable(type(exc).__name__) from exc
        readings = len(verdict.valid) + (len(verdict.rejects) if verdict.device else 0)
        if verdict.device:
            wait = self.device_budget.take(verdict.device, readings)
            if wait:
                self.metrics.refusals.labels("device_budget").inc()
                return slow_down("device_budget", f"this device may send "
                                 f"{self.device_budget.rate:g} readings a second (bursts of "
                                 f"{self.device_budget.burst:g}); send this message again later",
                                 wait), True
        try:
            for reject in verdict.rejects:
                self.store.dead_letter("reading", reject.payload, reject.reason)
            if verdict.valid:
                self.queue.send([raw])
        except Exception as exc:  # nothing acknowledged: the device sends it again
            raise StoreUnavailable(type(exc).__name__) from exc
        self.metrics.accepted_readings.inc(len(verdict.valid))
        for reject in verdict.rejects:
            self.metrics.dead_letters.labels(reject.reason.split(":")[0]).inc()
        if not verdict.device:  # refused whole before its signature was known to be good
            return refusal(verdict.rejects[0].reason), False
        rejected = [rejected_reading(r.payload, r.reason) for r in verdict.rejects]
        if verdict.valid:
            return accepted(len(verdict.valid), rejected), True
        return refusal(verdict.rejects[0].reason, rejected), True
