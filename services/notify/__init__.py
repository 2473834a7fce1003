"""Notifiers: one interface to send an email, backends chosen by settings (outbox, SMTP, SES v2)."""

from services.notify.base import (
    Email,
    Notifier,
    NotifierError,
    NotifierRejected,
    NotifierUnavailable,
    message_id_for,
)
from services.notify.factory import open_notifier
from services.notify.settings import NotifySettings

__all__ = [
    "Email",
    "Notifier",
    "NotifierError",
    "NotifierRejected",
    "NotifierUnavailable",
    "NotifySettings",
    "message_id_for",
    "open_notifier",
]
