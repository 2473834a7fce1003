"""SMTP through smtplib; one connection reused across sends, reopened after any failure."""

from __future__ import annotations

import smtplib
import ssl

from services.notify.base import Email, Notifier, NotifierRejected, NotifierUnavailable
from services.notify.mime import to_mime
from services.notify.settings import NotifySettings


class SmtpNotifier(Notifier):
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "ssl":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s,
                context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            if s.smtp_security == "starttls":
                connection.starttls(context=ssl.create_default_context())
        if s.smtp_username:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            connection.login(s.smtp_username, password)
        return connection

    def send(self, email: Email) -> None:
        message = to_mime(email, self.settings.sender, self.settings.gateway_url)
        try:
            if self._connection is None:
                self._connection = self._connect()
            refused = self._connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            self._drop()
            raise _classified(error.recipients.values(), "every recipient refused") from error
        except smtplib.SMTPResponseException as error:
            self._drop()
            if 400 <= error.smtp_code < 500:
                raise NotifierUnavailable(f"SMTP deferred: {error.smtp_code}") from error
            raise NotifierRejected(f"SMTP refused: {error.smtp_code}") from error
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            self._drop()
            raise NotifierUnavailable(f"SMTP unreachable: {type(error).__name__}") from error
        if refused:
            # Accepted for some recipients: retrying would double-send to the others.
            raise NotifierRejected(f"SMTP refused {len(refused)} of {len(email.to)} recipients")

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()


def _classified(replies, summary: str) -> Exception:
    codes = [code for code, _ in replies]
    if codes and all(400 <= code < 500 for code in codes):
        return NotifierUnavailable(f"SMTP deferred: {summary} ({codes[0]})")
    return NotifierRejected(f"SMTP refused: {summary} ({codes[0] if codes else '?'})")
