"""Notification: applies the k-of-n alert policy (services/predict) to each stored prediction and
emails the patient and their linked doctor (services/notify), at most once per (user, window): a
ledger of sent keys, and a Message-ID derived from the key, so a resend after a crash between
send and ledger is recognisably the same email. Aggregators send each user's predictions to the
notification peer closest to that user, so one peer holds a user's k-of-n history: on disk
(services/peers/alert_history.py), written before a batch is acknowledged and read back on start;
a peer new to a user first replays the user's stored predictions (services/peers/alert_catchup.py)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter

from services.notify import Email, NotifierRejected, message_id_for
from services.notify.links import patient_link
from services.peers.alert_catchup import stored_statuses
from services.peers.alert_history import AlertHistory
from services.predict import Prediction
from services.records import RecordsError
from services.records.validation import window_record_id

log = logging.getLogger(__name__)


class SentLedger:
    def __init__(self, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY)")

    def was_sent(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM sent WHERE key = ?", (key,)).fetchone() is not None

    def mark_sent(self, key: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO sent VALUES (?)", (key,))

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM sent").fetchone()[0]


def alert_email(recipients: tuple[str, ...], alert, key: str, link: str | None = None) -> Email:
    text = ("PulseLedger noticed an irregular heart rhythm.\n\n" + alert.message)
    if link:  # the patient opens their own page there, their linked doctor the patient's
        text += f"\n\nSee the windows around it: {link}"
    html = "".join(f"<p>{part}</p>" for part in text.split("\n\n"))
    return Email(recipients, "PulseLedger: irregular rhythm noticed", text, html,
                 message_id_for(key))


class NotificationRole:
    name = "notification"

    def __init__(self, node, notifier, policy):
        self.node = node
        self.notifier = notifier
        self.policy = policy
        self.ledger = SentLedger(node.settings.notify_ledger_path)
        self.history = AlertHistory(node.settings.notify_ledger_path)
        for user, (last_start, recent) in self.history.load_all().items():
            policy.restore(user, last_start, recent)
        self.sent = 0
        self.replayed = 0
        self.refused: Counter[str] = Counter()
        node.rpc.register("notify.predictions", self.handle)

    def _as_stored(self, item: dict) -> dict | None:
        """The item if storage holds its window with the same verdict; None (counted) when there
        is no such window, it starts in the future, or the stored prediction says otherwise: an
        alert is sent only for a window as it was stored, whatever a caller claims."""
        start = item["window_start_ms"]
        if start > time.time() * 1000 + self.node.settings.window_ms:
            self.refused["future"] += 1
            return None
        store = self.node.store
        try:
            payload = store.get_window(window_record_id(store.namespace, item["device_id"], start))
        except (RecordsError, ValueError, TypeError):
            self.refused["no_stored_window"] += 1
            return None
        if payload["prediction"].get("status") != item["prediction"].get("status"):
            self.refused["not_as_stored"] += 1
            return None
        return item

    async def handle(self, body: dict, caller: str) -> dict:
        stored = [self._as_stored(item) for item in body["items"]]
        if len(stored) > sum(1 for s in stored if s is not None):
            log.warning("notify.predictions from %s: %d item(s) without a stored window refused",
                        caller[-8:], sum(1 for s in stored if s is None))
        # Oldest first per user: the policy ignores a window older than one it has seen.
        items = sorted((s for s in stored if s is not None),
                       key=lambda i: (i["device_id"], i["window_start_ms"]))
        before: dict[str, tuple] = {}  # each user's history as it was, to undo a failed batch
        try:
            for item in items:
                user = item["device_id"]
                if user not in before:
                    before[user] = self.policy.state(user)
                    self._catch_up(user, item["window_start_ms"])
                await self._observe(item)
            self.history.save({user: self.policy.state(user) for user in before})
        except BaseException:
            # Not acknowledged: the caller retries the batch, which must then meet the history
            # as it was (or an alert whose email failed would be skipped as already seen).
            for user, state in before.items():
                self.policy.restore(user, *state)
            raise
        return {"sent": self.sent}

    def _catch_up(self, user: str, window_start_ms: int) -> None:
        """Replay the user's stored predictions this peer has not seen (it is new to the user,
        or there is a hole since the last window it saw), without alerting for them."""
        settings = self.node.settings
        if settings.alert_catchup_ms <= 0:
            return
        last_start, _ = self.policy.state(user)
        horizon = window_start_ms - settings.alert_catchup_ms
        if last_start is None:
            after = horizon
        elif window_start_ms - last_start > settings.window_ms:
            after = max(last_start, horizon)
        else:
            return
        for start, status in stored_statuses(self.node.store, user, after, window_start_ms):
            self.policy.observe(user, start, Prediction(status, None, None, "", ""))
            self.replayed += 1

    async def _observe(self, item: dict) -> None:
        store = self.node.store
        prediction = Prediction(**item["prediction"])
        alert = self.policy.observe(item["device_id"], item["window_start_ms"], prediction)
        if alert is None:
            return
        key = f"alert/{item['device_id']}/{item['window_start_ms']}"
        if self.ledger.was_sent(key):
            return
        device = store.get_device(item["device_id"])
        recipients: tuple[str, ...] = ()
        if device is not None:
            recipients = tuple(store.get_contacts(device.owner))
            doctor = store.get_doctor(device.owner)
            if doctor is not None:
                recipients += (doctor.email,)
        try:
            if not recipients:
                raise NotifierRejected("no contact address for the patient or a doctor")
            link = patient_link(self.node.settings.dapp_url, device.owner, item["window_start_ms"])
            self.notifier.send(alert_email(recipients, alert, key, link))
            self.sent += 1
        except NotifierRejected as exc:  # permanent: park it with the reason, go on
            store.dead_letter("alert", key.encode(), f"rejected: {exc}")
        self.ledger.mark_sent(key)  # NotifierUnavailable propagates: the caller retries

    def metrics(self) -> dict:
        out = {"notification_emails_sent": self.sent,
               "notification_predictions_replayed": self.replayed}
        for reason, count in self.refused.items():
            out[f'notification_refused_total{{reason="{reason}"}}'] = count
        return out

    async def run(self) -> None:
        return None
