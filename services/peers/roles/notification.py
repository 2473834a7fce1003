"""Notification: applies the alert rule (services/alerts: episodes — started, reminder, all-clear)
to each stored prediction and emails the patient's contacts and their linked doctor, one message
per recipient (services/alerts/emails.py), each at most once: a ledger of keys (episode number,
notice, recipient) and a Message-ID derived from the key, so a resend after a crash between send
and ledger is recognisably the same email. Aggregators send each user's predictions to the
notification peer closest to that user, so one peer holds a user's episode state: on disk
(services/peers/alert_history.py), written before a batch is acknowledged and read back on start;
a peer new to a user first replays the user's stored predictions (services/peers/alert_catchup.py)
without sending what they caused (the previous owner did).

A batch is acknowledged once its emails are queued on disk with that state
(services/peers/notification_ledger.py); a sender task hands them to the mail system afterwards,
oldest first, and retries while it is unavailable. So an outage of the mail system, or a burst
of alerts, holds up only the emails, never the windows' closing: handing ~125 emails over took
~80-160 ms of every close round in the benchmark's alert burst, and an outage failed every
round (2026-12-05)."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

import trio

from services.alerts import NOTIFIED, EpisodeTracker, Event, Window
from services.alerts.emails import Patient, episode_emails
from services.notify import Email, NotifierUnavailable
from services.notify.stop_links import with_stop_link
from services.peers.alert_catchup import stored_statuses_of
from services.peers.alert_history import AlertHistory
from services.peers.messages.windows import NOTIFY, NotifyReply, NotifyRequest
from services.peers.notification_ledger import NotificationLedger
from services.peers.notification_sender import SenderProcess
from services.records import RecordsError
from services.records.validation import window_record_id

log = logging.getLogger(__name__)
FORGET_SENT_EVERY_S, FORGET_SENT_CHUNK = 3_600.0, 5_000


class NotificationRole:
    name = "notification"

    def __init__(self, *, settings, rpc, store, notifier, tracker: EpisodeTracker,
                 sender_process: SenderProcess | None = None):
        """`sender_process`: hands the queued emails over on a worker process
        (notification_sender.py; it opens the notifier the settings name); None: on a thread,
        with `notifier`."""
        self.settings, self.store = settings, store
        self.sender_process = sender_process
        self.notifier = notifier
        self.tracker = tracker
        self.history = AlertHistory(settings.notify_ledger_path)
        self.ledger = NotificationLedger(settings.notify_ledger_path)
        for user, state in self.history.load_all().items():
            tracker.restore(user, state)
        self.sent = 0
        self.replayed = 0
        self.refused: Counter[str] = Counter()
        self.queued = 0  # emails queued by the batches this peer acknowledged
        self.pending = self.ledger.pending_count()  # queued, not handed over yet (a gauge)
        self._pending_lock = threading.Lock()  # batches add, the sender takes: two threads
        self._one_batch = trio.Lock()
        self._wake_sender = trio.Event()
        rpc.register(NOTIFY, self.handle)

    def _as_stored(self, item: dict) -> dict | None:
        """The item if storage holds its window with the same verdict; None (counted) when there
        is no such window or the stored prediction says otherwise: an alert is sent only for a
        window as it was stored, whatever a caller claims."""
        start = item["window_start_ms"]
        store = self.store
        try:
            payload = store.get_window(window_record_id(store.namespace, item["device_id"], start))
        except (RecordsError, ValueError, TypeError):
            self.refused["no_stored_window"] += 1
            return None
        if payload["prediction"].get("status") != item["prediction"].get("status"):
            self.refused["not_as_stored"] += 1
            return None
        return item

    def _in_future(self, item: dict) -> bool:
        if item["window_start_ms"] > time.time() * 1000 + self.settings.window_ms:
            self.refused["future"] += 1
            return True
        return False

    def _must_check(self, item: dict) -> bool:
        """Irregular windows, and every window while the user's episode is open, are checked
        against storage (a read and a decryption each): only they can lead to an email (an
        alert, a reminder, an all-clear). A regular window outside an episode can only keep an
        alert from happening, which the admitted aggregator sending it could do anyway by
        sending nothing. Asked in time order, just before the window is observed."""
        return (item["prediction"].get("status") == "irregular"
                or self.tracker.episode_open(item["device_id"]))

    async def handle(self, request: NotifyRequest, caller: str) -> NotifyReply:
        """Apply a batch on a worker thread, one batch at a time, then wake the sender: the
        rule, the reads of stored windows and the durable commit of the queued emails with the
        history are tens of ms for a round of 1,000 windows, and on the event loop they held up
        every other role of the peer (2026-12-05). One at a time: a batch undoes its users'
        state when it fails, which must not interleave with another's."""
        async with self._one_batch:
            reply = await trio.to_thread.run_sync(self._apply, request, caller)
        self._wake_sender.set()
        return reply

    def _apply(self, request: NotifyRequest, caller: str) -> NotifyReply:
        # Oldest first per user (the rule takes any order; in order, nothing waits on a late one).
        items = sorted((item for item in request.items if not self._in_future(item)),
                       key=lambda i: (i["device_id"], i["window_start_ms"]))
        refused = len(request.items) - len(items)
        before: dict[str, dict | None] = {}  # each user's state as it was, to undo a failed batch
        outgoing: dict[str, Email | None] = {}  # ledger key -> its email (None: nobody to send to)
        try:
            missed = self._missed(items)
            for item in items:
                user = item["device_id"]
                if user not in before:
                    before[user] = self.tracker.export(user) if self.tracker.knows(user) else None
                    for start, status in missed.get(user, ()):
                        # what they caused was sent before (by this user's previous owner)
                        self.tracker.observe(user, Window(start, status))
                        self.replayed += 1
                if self._must_check(item) and self._as_stored(item) is None:
                    refused += 1
                    continue
                window = Window(item["window_start_ms"], item["prediction"].get("status", ""),
                                window_record_id(self.store.namespace, user,
                                                 item["window_start_ms"]))
                for event in self.tracker.observe(user, window):
                    if event.kind in NOTIFIED:
                        outgoing.update(self._emails_for(user, event))
            self._queue(outgoing, {user: self.tracker.export(user) for user in before})
        except BaseException:
            # Not acknowledged: the caller retries the batch, which must then meet the state as
            # it was (or a notice whose email was never queued would be skipped as returned).
            for user, state in before.items():
                if state is None:
                    self.tracker.forget(user)
                else:
                    self.tracker.restore(user, state)
            raise
        if refused:
            log.warning("notify.predictions from %s: %d item(s) refused (future-dated, or not "
                        "as stored)", caller[-8:], refused)
        return NotifyReply(self.queued)

    def _missed(self, items: list[dict]) -> dict[str, list[tuple[int, str]]]:
        """The stored predictions to replay for each user of the batch, sending nothing for
        them: those this peer has not seen (it is new to the user, or there is a hole since
        the last window it saw) before the user's first window in the batch. Read for the whole
        batch at once (alert_catchup.py); `items` are in order, oldest first per user."""
        settings = self.settings
        if settings.alert_catchup_ms <= 0:
            return {}
        ranges: dict[str, tuple[int, int]] = {}
        seen: set[str] = set()
        for item in items:
            user, start = item["device_id"], item["window_start_ms"]
            if user in seen:
                continue
            seen.add(user)
            last_start = self.tracker.latest_start(user)
            horizon = start - settings.alert_catchup_ms
            if last_start is None:
                ranges[user] = (horizon, start)
            elif start - last_start > settings.window_ms:
                ranges[user] = (max(last_start, horizon), start)
        return stored_statuses_of(self.store, ranges) if ranges else {}

    def _emails_for(self, device_id: str, event: Event) -> dict[str, Email | None]:
        """The emails this notice asks for, by ledger key, less those the ledger says went."""
        store = self.store
        key = f"alert/{device_id}/{event.key}"
        device = store.get_device(device_id)
        contacts: list[str] = []
        doctor_email = None
        patient = Patient(device.owner if device else "0x" + "00" * 20)
        if device is not None:
            contacts = store.get_contacts(device.owner)
            doctor = store.get_doctor(device.owner)
            doctor_email = doctor.email if doctor else None
            profile = store.get_profile(device.owner)
            patient = Patient(device.owner, profile.name, profile.time_zone)
        emails = episode_emails(event, patient, contacts, doctor_email,
                                self.settings.dapp_url)
        if device is not None:  # each recipient can stop them (services/notify/stop_links.py)
            emails = [with_stop_link(email, store, device.owner, self.settings.dapp_url)
                      for email in emails]
        wanted = {f"{key}/{email.message_id}": email for email in emails} if emails else {key: None}
        return {k: email for k, email in wanted.items() if not self.ledger.known(k)}

    def _queue(self, outgoing: dict[str, Email | None], states: dict[str, dict]) -> None:
        """Queue the batch's emails with its users' states, in one transaction; a notice with
        nobody to send it to is dead-lettered with its reason and settled."""
        nobody = [key for key, email in outgoing.items() if email is None]
        for key in nobody:
            self.store.dead_letter("alert", key.encode(),
                                   "rejected: no contact address for the patient or a doctor")
        emails = {key: email for key, email in outgoing.items() if email is not None}
        self.ledger.queue(emails, nobody, states)
        self.queued += len(emails)
        with self._pending_lock:
            self.pending += len(emails)

    def send_pending(self) -> int:
        """Hand the oldest queued emails over (one send_many), then mark them sent; returns how
        many were taken. NotifierUnavailable propagates with nothing marked: they are sent
        again, each with its Message-ID, so a receiver can tell a resend from a new email. One
        refused permanently is dead-lettered with the reason, and settled."""
        batch = self.ledger.pending(self.settings.notify_send_batch)
        if not batch:
            return 0
        rejected = self.notifier.send_many([email for _, email in batch])
        return self._settle([key for key, _ in batch],
                            {index: str(exc) for index, exc in rejected.items()})

    def _settle(self, keys: list[str], rejected: dict[int, str]) -> int:
        """A handed-over batch: its refusals dead-lettered with their reasons, all marked sent."""
        for index, reason in rejected.items():
            self.store.dead_letter("alert", keys[index].encode(), f"rejected: {reason}")
        self.ledger.mark_sent(keys)
        self.sent += len(keys) - len(rejected)
        with self._pending_lock:
            self.pending -= len(keys)
        return len(keys)

    async def _send_once(self) -> int:
        """One batch handed over (send_pending), on the worker process if there is one."""
        if self.sender_process is not None:
            taken = await self.sender_process.take(self.settings.notify_send_batch)
            if taken is not None:
                return await trio.to_thread.run_sync(self._settle, *taken) if taken[0] else 0
        return await trio.to_thread.run_sync(self.send_pending)

    def metrics(self) -> dict:
        out = {"notification_emails_sent": self.sent,
               "notification_sender_restarts": (self.sender_process.restarts
                                                if self.sender_process is not None else 0),
               "notification_emails_queued": self.queued,
               "notification_emails_pending": self.pending,
               "notification_predictions_replayed": self.replayed}
        for reason, count in dict(self.refused).items():  # a copy: _apply runs on a thread
            out[f'notification_refused_total{{reason="{reason}"}}'] = count
        return out

    async def run(self) -> None:
        """The sender: queued emails go out as soon as a batch queued them (or at start, what
        a previous run left), on a worker thread, or on the sender's own process
        (notify_send_process). While the mail system is unavailable, or
        sending fails otherwise, it retries, waiting twice as long each time up to
        notify_retry_max_s: a failing sender must not take the peer's other roles down."""
        if self.sender_process is not None:
            await self.sender_process.start()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._forget_sent_loop)
                await self._send_loop()
        finally:
            if self.sender_process is not None:
                self.sender_process.close()

    async def _forget_sent_loop(self) -> None:
        """Hourly: forget the ledger's sent keys older than notify_sent_retention_s, a chunk
        at a time with the loop let go between (notification_ledger.py)."""
        while True:
            cutoff = time.time() - self.settings.notify_sent_retention_s
            try:
                while await trio.to_thread.run_sync(
                        self.ledger.forget_sent, cutoff, FORGET_SENT_CHUNK) >= FORGET_SENT_CHUNK:
                    await trio.lowlevel.checkpoint()
            except Exception as exc:  # noqa: BLE001 - the next hour tries again
                log.warning("forgetting old sent keys failed: %s", type(exc).__name__)
            await trio.sleep(FORGET_SENT_EVERY_S)

    async def _send_loop(self) -> None:
        backoff = self.settings.notify_retry_min_s
        while True:
            try:
                taken = await self._send_once()
            except NotifierUnavailable as exc:
                log.warning("mail system unavailable, %d email(s) wait: %s; retrying in %.1f s",
                            self.pending, str(exc)[:120], backoff)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.notify_retry_max_s)
                continue
            except Exception as exc:  # noqa: BLE001 - the peer's other roles go on; so do we
                log.error("sending queued emails failed (%s); retrying in %.1f s",
                          type(exc).__name__, backoff)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.notify_retry_max_s)
                continue
            backoff = self.settings.notify_retry_min_s
            if not taken:
                await self._wake_sender.wait()
                self._wake_sender = trio.Event()
