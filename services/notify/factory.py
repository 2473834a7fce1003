from __future__ import annotations

from services.notify.base import Notifier
from services.notify.settings import NotifySettings


def open_notifier(settings: NotifySettings | None = None) -> Notifier:
    """The notifier the settings name; the outbox folder by default."""
    settings = settings or NotifySettings()
    if settings.backend == "smtp":
        from services.notify.smtp import SmtpNotifier

        return SmtpNotifier(settings)
    if settings.backend == "ses":
        from services.notify.ses import SesNotifier

        return SesNotifier(settings)
    from services.notify.outbox import OutboxNotifier

    return OutboxNotifier(settings.outbox_dir, settings.sender, settings.gateway_url)
