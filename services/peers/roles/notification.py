"""Notification: applies the k-of-n alert policy to each stored prediction and emails the patient
and their linked doctor, at most once per (user, window): a ledger of sent keys, and a message id
derived from the key so a resend after a crash between send and ledger is the same email."""

from __future__ import annotations

import sqlite3

from services.peers.interim_notify import Email, NotifierRejected, message_id_for
from services.peers.interim_predict import KOfNAlertPolicy, Prediction


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


def alert_email(recipients: tuple[str, ...], window_start_ms: int, key: str) -> Email:
    text = ("PulseLedger noticed an irregular heart rhythm in a 10-second window "
            f"(window starting {window_start_ms} ms since epoch).\n\n"
            "This is a screen, not a diagnosis: please talk to your doctor.")
    return Email(recipients, "PulseLedger: irregular rhythm noticed", text,
                 f"<p>{text}</p>".replace("\n\n", "</p><p>"), message_id_for(key))


class NotificationRole:
    name = "notification"

    def __init__(self, node, notifier):
        self.node = node
        self.notifier = notifier
        settings = node.settings
        self.policy = KOfNAlertPolicy(settings.alert_k, settings.alert_n)
        self.ledger = SentLedger(settings.notify_ledger_path)
        node.rpc.register("notify.predictions", self.handle)

    async def handle(self, body: dict, caller: str) -> dict:
        store = self.node.store
        sent = 0
        for item in body["items"]:
            prediction = Prediction(**item["prediction"])
            alert = self.policy.observe(item["device_id"], item["window_start_ms"], prediction)
            if alert is None:
                continue
            key = f"alert/{item['device_id']}/{item['window_start_ms']}"
            if self.ledger.was_sent(key):
                continue
            device = store.get_device(item["device_id"])
            owner = device.owner if device else ""
            recipients = tuple(store.get_contacts(owner) or ())
            doctor = store.get_doctor(owner)
            if doctor:
                recipients += (doctor,)
            try:
                self.notifier.send(alert_email(recipients, item["window_start_ms"], key))
                sent += 1
            except NotifierRejected as exc:  # permanent: park it with the reason, go on
                store.dead_letter("alert", key.encode(), f"rejected: {exc}")
            self.ledger.mark_sent(key)  # NotifierUnavailable propagates: the caller retries
        return {"sent": sent}

    async def run(self) -> None:
        return None
