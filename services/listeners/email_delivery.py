"""Sends pending email effects: at least once, and at most once except for a crash between the
mail server's acceptance and our commit (the send window), where the resend carries the same
Message-ID. Transient failures are retried with exponential backoff; then dead-lettered."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable

from services.listeners.contacts import ContactDirectory
from services.listeners.messages import bodies, render
from services.listeners.state import GROUPED, HELD, PENDING, Effect, EffectRow, StateStore
from services.notify import Email, Notifier, NotifierRejected, NotifierUnavailable, message_id_for
from services.notify.stop_links import StopLinks

log = logging.getLogger(__name__)


class Backoff:
    def __init__(self, initial_s: float, multiplier: float, max_s: float) -> None:
        self.initial_s, self.multiplier, self.max_s = initial_s, multiplier, max_s

    def delay(self, attempts: int) -> float:
        return min(self.max_s, self.initial_s * self.multiplier ** max(0, attempts - 1))


class Deliverer:
    def __init__(self, store: StateStore, notifier: Notifier, contacts: ContactDirectory, *,
                 backoff: Backoff, max_attempts: int, batch: int, dapp_url: str,
                 digest_interval_s: float, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.notifier = notifier
        self.contacts = contacts
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.batch = batch
        self.dapp_url = dapp_url
        self.digest_interval_s = digest_interval_s
        self.clock = clock
        self.outcomes = {"sent": 0, "retry": 0, "dead": 0}  # read by the metrics endpoint
        recovered = store.recover_in_doubt()
        if recovered:
            log.warning("%d emails were in the send window at the last crash: resending them "
                        "with the same Message-ID", recovered)

    def deliver_due(self, stop: threading.Event | None = None) -> int:
        sent = 0
        try:
            for row in self.store.due_effects(self.clock(), self.batch):
                if stop is not None and stop.is_set():
                    break
                sent += self._deliver(row)
        finally:
            self.notifier.close()
        return sent

    def _deliver(self, row: EffectRow) -> int:
        try:
            emails = self.compose(row)
        except NotifierUnavailable as error:  # the record store could not be read
            self._retry_or_bury(row.key, row.attempts + 1, str(error))
            return 0
        except Exception as error:  # noqa: BLE001 - a bad payload: retrying cannot fix it
            self.outcomes["dead"] += 1
            self.store.mark_dead(row.key, f"cannot compose: {type(error).__name__}: {error}")
            return 0
        self.store.mark_sending(row.key)
        try:
            rejected = self.notifier.send_many(emails)
        except Exception as error:  # noqa: BLE001 - unavailable or unforeseen: retry, bounded
            self._retry_or_bury(row.key, row.attempts + 1, f"{type(error).__name__}: {error}")
            return 0
        if len(rejected) == len(emails):
            self.outcomes["dead"] += 1
            self.store.mark_dead(row.key, f"rejected: {next(iter(rejected.values()))}")
            log.warning("effect %s dead-lettered: rejected by the mail system", row.key)
            return 0
        if rejected:  # the others went: a resend would repeat them
            log.warning("effect %s: %d of its %d addresses refused by the mail system",
                        row.key, len(rejected), len(emails))
        self.store.mark_sent(row.key, self.clock())
        self.outcomes["sent"] += 1
        return 1

    def _retry_or_bury(self, key: str, attempts: int, error: str) -> None:
        if attempts >= self.max_attempts:
            self.outcomes["dead"] += 1
            self.store.mark_dead(key, f"gave up after {attempts} attempts: {error}")
            log.warning("effect %s dead-lettered after %d attempts", key, attempts)
        else:
            self.outcomes["retry"] += 1
            with self.store.transaction() as tx:
                tx.execute("UPDATE effects SET attempts = ? WHERE key = ?", (attempts, key))
            self.store.mark_retry(key, error, self.clock() + self.backoff.delay(attempts))

    def compose(self, row: EffectRow) -> list[Email]:
        """One email per address of the recipient's (never a shared To: line), each ending with
        its own link to stop them (services/notify/stop_links.py). The first keeps the effect's
        Message-ID; each further address gets one of its own, as stable. A send that fails for
        a passing reason is retried whole: with several addresses, one that took it before gets
        it again (the same Message-ID, recognisably a resend)."""
        recipient = row.payload["recipient"]
        try:
            addresses = list(dict.fromkeys(self.contacts.get_contacts(recipient)))
        except Exception as error:
            raise NotifierUnavailable(f"record store unavailable: {type(error).__name__}") from error
        if not addresses:
            raise NotifierRejected("no contact email registered for the recipient")
        subject, paragraphs = render(row.kind, row.payload, self.dapp_url)
        emails = []
        # the stop needs the records master key: the record store as the directory (as in
        # production) has it; a directory without it makes none
        can_stop = hasattr(self.contacts, "keyed_digest")
        for index, address in enumerate(addresses):
            stop = StopLinks(self.contacts, recipient, address) if can_stop else None
            text, markup = bodies([*paragraphs,
                                   *([f"To stop these emails: {stop.link(self.dapp_url)}"]
                                     if stop else [])])
            key = row.key if index == 0 else f"{row.key}\n{address}"
            emails.append(Email(
                to=(address,), subject=f"PulseLedger: {subject}", text=text, html=markup,
                message_id=message_id_for(key),
                stop_query=stop.query() if stop else None))
        return emails

    # -- digests --------------------------------------------------------------------------------
    def flush_digests(self) -> int:
        """Group held access notices per patient once the oldest has waited digest_interval_s.
        The digest's key hashes its members' keys, so a replayed flush yields the same email."""
        now = self.clock()
        made = 0
        with self.store.transaction() as tx:
            ready = [row[0] for row in tx.execute(
                "SELECT json_extract(payload, '$.recipient') AS patient FROM effects "
                "WHERE status = ? GROUP BY patient HAVING MIN(created_at) <= ?",
                (HELD, now - self.digest_interval_s))]
            for patient in ready:
                rows = tx.execute(
                    "SELECT key, payload FROM effects WHERE status = ? AND "
                    "json_extract(payload, '$.recipient') = ? ORDER BY key", (HELD, patient)
                ).fetchall()
                keys = [key for key, _ in rows]
                digest_key = "digest:" + hashlib.sha256("\n".join(keys).encode()).hexdigest()
                items = sorted((json.loads(payload) for _, payload in rows),
                               key=lambda item: item["blockNumber"])
                self.store.enqueue(tx, Effect(digest_key, "access_digest",
                                              {"recipient": patient, "items": items}), now)
                tx.executemany("UPDATE effects SET status = ?, group_key = ? WHERE key = ?",
                               [(GROUPED, digest_key, key) for key in keys])
                made += 1
        return made

    def pending(self) -> int:
        return self.store.count_effects(PENDING, HELD)
