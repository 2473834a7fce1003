"""The emails an episode sends: one message per recipient (never a shared To: line), the time in
the patient's zone, for the doctor which patient (the name the patient gave, else a short form of
their address — never a heart value), a link that opens the page it names, and always that this
is a screen, not a diagnosis. Message-IDs derive from (event, recipient): a resend after a crash
is recognisably the same email."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.alerts.rule import ALL_CLEAR, REMINDER, STARTED, Event
from services.notify import Email, message_id_for
from services.notify.links import patient_link
from services.predict.base import SCREEN_NOT_DIAGNOSIS


@dataclass(frozen=True)
class Patient:
    address: str
    name: str | None = None  # as the patient gave it in onboarding
    time_zone: str = "UTC"  # IANA name

    @property
    def called(self) -> str:
        return self.name or f"{self.address[:6]}…{self.address[-4:]}"


def local_time(at_ms: int, time_zone: str) -> str:
    """e.g. "Wed 2 Dec 2026, 14:03 (Europe/Berlin, UTC+01:00)"."""
    moment = datetime.fromtimestamp(at_ms / 1000, ZoneInfo(time_zone))
    offset = moment.strftime("%z")
    return (f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M} "
            f"({time_zone}, UTC{offset[:3]}:{offset[3:]})")


def _sentences(event: Event, patient: Patient, for_doctor: bool) -> tuple[str, str]:
    whose = f"{patient.called}'s" if for_doctor else "your"
    when = local_time(event.window_start_ms, patient.time_zone)
    began = local_time(event.episode_start_ms, patient.time_zone)
    if event.kind == STARTED:
        return ("irregular rhythm noticed",
                (f"At {when}, PulseLedger's screen found an irregular rhythm in {whose} heart "
                f"readings: {event.irregular_count} of the last {event.window_count} readable "
                "10-second windows looked irregular."))
    if event.kind == REMINDER:
        return ("irregular rhythm continues",
                (f"The irregular rhythm in {whose} heart readings that began at {began} was "
                f"still seen at {when}."))
    if event.kind == ALL_CLEAR:
        return ("all clear",
                (f"Since {when}, {whose} heart readings have looked regular again: the episode "
                f"that began at {began} has ended."))
    raise ValueError(f"no email for {event.kind} events")


def episode_emails(event: Event, patient: Patient, patient_emails: list[str],
                   doctor_email: str | None, dapp_url: str) -> list[Email]:
    """One Email per recipient: the patient's contacts, then their linked doctor."""
    link = patient_link(dapp_url, patient.address, event.window_start_ms)
    recipients = [(address, False) for address in dict.fromkeys(patient_emails)]
    if doctor_email and doctor_email not in patient_emails:
        recipients.append((doctor_email, True))
    emails = []
    for address, for_doctor in recipients:
        subject, sentence = _sentences(event, patient, for_doctor)
        prefix = f"PulseLedger: {patient.called}, " if for_doctor else "PulseLedger: "
        parts = [sentence, SCREEN_NOT_DIAGNOSIS,
                 f"{'Open the patient' if for_doctor else 'See the windows'} around it: {link}"]
        emails.append(Email((address,), prefix + subject, "\n\n".join(parts),
                            "".join(f"<p>{html.escape(p)}</p>" for p in parts),
                            message_id_for(f"{event.key}/{patient.address}/{address}")))
    return emails
