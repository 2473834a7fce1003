"""Notification: applies the alert rule (services/alerts: episodes — started, reminder, all-clear)
to each stored prediction and emails the patient's contacts and their linked doctor, one message
per recipient (services/alerts/emails.py), each at most once: a ledger of sent keys (episode
number, notice, recipient) and a Message-ID derived from the key, so a resend after a crash
between send and ledger is recognisably the same email. Aggregators send each user's predictions
to the notification peer closest to that user, so one peer holds a user's episode state: on disk
(services/peers/alert_history.py), written before a batch is acknowledged and read back on start;
a peer new to a user first replays the user's stored predictions (services/peers/alert_catchup.py)
without sending what they caused (the previous owner did)."""

from __future__ import annotations

import logging
import time
from collections import Counter

import trio

from services.alerts import NOTIFIED, EpisodeTracker, Event, Window
from services.alerts.emails import Patient, episode_emails
from services.notify import Email
from services.peers.alert_catchup import stored_statuses
from services.peers.alert_history import AlertHistory
from services.peers.messages.windows import NOTIFY, NotifyReply, NotifyRequest
from services.records import RecordsError
from services.records.validation import window_record_id
from services.runtime.sqlite_helpers import connect, immediate

log = logging.getLogger(__name__)


class SentLedger:
    def __init__(self, path):
        self._db = connect(path, "FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY)")

    def was_sent(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM sent WHERE key = ?", (key,)).fetchone() is not None

    def mark_sent(self, keys: list[str]) -> None:
        """One transaction, one sync to disk, for a whole batch's keys: per key, an alert burst
        (1,000 patients starting an episode at once) made ~2,000 syncs in 15 s, and every
        other durable commit on the machine waited behind them."""
        with immediate(self._db) as db:
            db.executemany("INSERT OR IGNORE INTO sent VALUES (?)", [(key,) for key in keys])

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM sent").fetchone()[0]


class NotificationRole:
    name = "notification"

    def __init__(self, *, settings, rpc, store, notifier, tracker: EpisodeTracker):
        self.settings, self.store = settings, store
        self.notifier = notifier
        self.tracker = tracker
        self.ledger = SentLedger(settings.notify_ledger_path)
        self.history = AlertHistory(settings.notify_ledger_path)
        for user, state in self.history.load_all().items():
            tracker.restore(user, state)
        self.sent = 0
        self.replayed = 0
        self.refused: Counter[str] = Counter()
        self._one_batch = trio.Lock()
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
        """Apply a batch on a worker thread, one batch at a time: the rule, the reads of
        stored windows, the emails and the history's durable commit are ~0.1 s for a round of
        1,000 windows and block on the mail server; on the event loop they held up every other
        role of the peer (2026-12-05). One at a time: a batch undoes its users' state when it
        fails, which must not interleave with another's."""
        async with self._one_batch:
            return await trio.to_thread.run_sync(self._apply, request, caller)

    def _apply(self, request: NotifyRequest, caller: str) -> NotifyReply:
        # Oldest first per user (the rule takes any order; in order, nothing waits on a late one).
        items = sorted((item for item in request.items if not self._in_future(item)),
                       key=lambda i: (i["device_id"], i["window_start_ms"]))
        refused = len(request.items) - len(items)
        before: dict[str, dict | None] = {}  # each user's state as it was, to undo a failed batch
        outgoing: dict[str, Email | None] = {}  # ledger key -> its email (None: nobody to send to)
        try:
            for item in items:
                user = item["device_id"]
                if user not in before:
                    before[user] = self.tracker.export(user) if self.tracker.knows(user) else None
                    self._catch_up(user, item["window_start_ms"])
                if self._must_check(item) and self._as_stored(item) is None:
                    refused += 1
                    continue
                window = Window(item["window_start_ms"], item["prediction"].get("status", ""),
                                window_record_id(self.store.namespace, user,
                                                 item["window_start_ms"]))
                for event in self.tracker.observe(user, window):
                    if event.kind in NOTIFIED:
                        outgoing.update(self._emails_for(user, event))
            self._send(outgoing)
            self.history.save({user: self.tracker.export(user) for user in before})
        except BaseException:
            # Not acknowledged: the caller retries the batch, which must then meet the state as
            # it was (or a notice whose email failed would be skipped as already returned).
            for user, state in before.items():
                if state is None:
                    self.tracker.forget(user)
                else:
                    self.tracker.restore(user, state)
            raise
        if refused:
            log.warning("notify.predictions from %s: %d item(s) refused (future-dated, or not "
                        "as stored)", caller[-8:], refused)
        return NotifyReply(self.sent)

    def _catch_up(self, user: str, window_start_ms: int) -> None:
        """Replay the user's stored predictions this peer has not seen (it is new to the user,
        or there is a hole since the last window it saw), sending nothing for them."""
        settings = self.settings
        if settings.alert_catchup_ms <= 0:
            return
        last_start = self.tracker.latest_start(user)
        horizon = window_start_ms - settings.alert_catchup_ms
        if last_start is None:
            after = horizon
        elif window_start_ms - last_start > settings.window_ms:
            after = max(last_start, horizon)
        else:
            return
        for start, status in stored_statuses(self.store, user, after, window_start_ms):
            self.tracker.observe(user, Window(start, status))  # what they caused was sent before
            self.replayed += 1

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
        wanted = {f"{key}/{email.message_id}": email for email in emails} if emails else {key: None}
        return {k: email for k, email in wanted.items() if not self.ledger.was_sent(k)}

    def _send(self, outgoing: dict[str, Email | None]) -> None:
        """Hand the batch's emails over together, then mark them all in the ledger. A crash, or
        a NotifierUnavailable (propagated: the caller retries the batch), before the mark sends
        them again, each with its Message-ID: the receiver can tell a resend from a new email."""
        if not outgoing:
            return
        sendable = [(key, email) for key, email in outgoing.items() if email is not None]
        for key, email in outgoing.items():
            if email is None:
                self.store.dead_letter("alert", key.encode(),
                                       "rejected: no contact address for the patient or a doctor")
        rejected = self.notifier.send_many([email for _, email in sendable]) if sendable else {}
        for index, exc in rejected.items():  # permanent: park it with the reason, go on
            self.store.dead_letter("alert", sendable[index][0].encode(), f"rejected: {exc}")
        self.sent += len(sendable) - len(rejected)
        self.ledger.mark_sent(list(outgoing))

    def metrics(self) -> dict:
        out = {"notification_emails_sent": self.sent,
               "notification_predictions_replayed": self.replayed}
        for reason, count in dict(self.refused).items():  # a copy: _apply runs on a thread
            out[f'notification_refused_total{{reason="{reason}"}}'] = count
        return out

    async def run(self) -> None:
        return None
