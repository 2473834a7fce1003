"""AF burden per day in the patient's zone, and the emails an episode sends."""

import re
from datetime import UTC, datetime

from services.alerts import (
    STARTED,
    AlertSettings,
    TimedWindow,
    Window,
    daily_burden,
    episode_events,
)
from services.alerts.emails import Patient, episode_emails, local_time

# 2026-12-01T23:00:00Z = 2026-12-02 00:00 in Berlin
MIDNIGHT_BERLIN_MS = int(datetime(2026, 12, 1, 23, tzinfo=UTC).timestamp() * 1000)


def test_burden_is_the_irregular_share_of_monitored_time_per_local_day():
    windows = [TimedWindow(MIDNIGHT_BERLIN_MS - 20_000, MIDNIGHT_BERLIN_MS - 10_000, "irregular"),
               TimedWindow(MIDNIGHT_BERLIN_MS, MIDNIGHT_BERLIN_MS + 10_000, "irregular"),
               TimedWindow(MIDNIGHT_BERLIN_MS + 10_000, MIDNIGHT_BERLIN_MS + 20_000, "regular"),
               TimedWindow(MIDNIGHT_BERLIN_MS + 20_000, MIDNIGHT_BERLIN_MS + 30_000, "regular"),
               TimedWindow(MIDNIGHT_BERLIN_MS + 30_000, MIDNIGHT_BERLIN_MS + 40_000,
                           "insufficient_data")]
    berlin = daily_burden(windows, "Europe/Berlin")
    assert [d["date"] for d in berlin] == ["2026-12-01", "2026-12-02"]
    assert berlin[1] == {"date": "2026-12-02", "monitored_s": 30.0, "irregular_s": 10.0,
                         "burden": 0.3333}
    assert [d["date"] for d in daily_burden(windows, "UTC")] == ["2026-12-01"]
    assert daily_burden([TimedWindow(0, 10_000, "insufficient_data")]) == []


def test_one_email_per_recipient_with_local_time_and_the_patient_named_to_the_doctor():
    statuses = ["regular"] + ["irregular"] * 5
    event = episode_events([Window(MIDNIGHT_BERLIN_MS + i * 10_000, s)
                            for i, s in enumerate(statuses)], AlertSettings())[0]
    assert event.kind == STARTED
    patient = Patient("0x" + "ab" * 20, name="Ada", time_zone="Europe/Berlin")
    emails = episode_emails(event, patient, ["ada@example.org", "ada2@example.org"],
                            "dr@example.org", "http://127.0.0.1:5173")
    assert [e.to for e in emails] == [("ada@example.org",), ("ada2@example.org",),
                                      ("dr@example.org",)]
    assert len({e.message_id for e in emails}) == 3
    patient_mail, doctor_mail = emails[0], emails[2]
    assert "00:00 (Europe/Berlin, UTC+01:00)" in patient_mail.text  # the 6th window, 00:00:50
    assert "Ada" in doctor_mail.subject and "Ada's heart" in doctor_mail.text
    assert "5 of the last 6" in patient_mail.text
    assert "not a diagnosis" in patient_mail.text and "not a diagnosis" in doctor_mail.text
    link = f"http://127.0.0.1:5173/#/patients/{patient.address}?at={event.window_start_ms}"
    assert link in patient_mail.text and link in doctor_mail.text
    assert not re.search(r"\bbpm\b|\d+ ?ms\b", patient_mail.text + doctor_mail.text)


def test_a_patient_without_a_name_is_named_by_a_short_address_and_the_doctor_once():
    event = episode_events([Window(i * 10_000, "irregular") for i in range(6)],
                           AlertSettings())[0]
    patient = Patient("0x" + "cd" * 20)
    emails = episode_emails(event, patient, ["dr@example.org"], "dr@example.org", "http://x")
    assert [e.to for e in emails] == [("dr@example.org",)]
    doctor = episode_emails(event, patient, [], "dr@example.org", "http://x")[0]
    assert "0xcdcd…cdcd" in doctor.subject
    assert local_time(0, "UTC") == "Thu 1 Jan 1970, 00:00 (UTC, UTC+00:00)"
