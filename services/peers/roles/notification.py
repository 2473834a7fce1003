"""Notification: applies the k-of-n alert policy (services/predict) to each stored prediction and
emails the patient and their linked doctor (services/notify), at most once per (user, window): a
ledger of sent keys, and a Message-ID derived from the key, so a resend after a crash between
send and ledger is recognisably the same email. Aggregators send each user's predictions to the
notification peer closest to that user, so one peer holds a user's k-of-n history."""

from __future__ import annotations

import sqlite3

from services.notify import Email, NotifierRejected, message_id_for
from services.predict import Prediction


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


def alert_email(recipients: tuple[str, ...], alert, key: str) -> Email:
    text = ("PulseLedger noticed an irregular heart rhythm.\n\n" + alert.message)
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
        self.sent = 0
        node.rpc.register("notify.predictions", self.handle)

    async def handle(self, body: dict, caller: str) -> dict:
        store = self.node.store
        for item in body["items"]:
            prediction = Prediction(**item["prediction"])
            alert = self.policy.observe(item["device_id"], item["window_start_ms"], prediction)
            if alert is None:
                continue
            key = f"alert/{item['device_id']}/{item['window_start_ms']}"
            if self.ledger.was_sent(key):
                continue
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
                self.notifier.send(alert_email(recipients, alert, key))
                self.sent += 1
            except NotifierRejected as exc:  # permanent: park it with the reason, go on
                store.dead_letter("alert", key.encode(), f"rejected: {exc}")
            self.ledger.mark_sent(key)  # NotifierUnavailable propagates: the caller retries
        return {"sent": self.sent}

    def metrics(self) -> dict:
        return {"notification_emails_sent": self.sent}

    async def run(self) -> None:
        return None
