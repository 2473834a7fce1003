"""Addresses waiting for their mailbox's confirmation, on both backends (SQLite and the Firestore
emulator): a contact joins the contacts only when its secret comes back, once, before it
expires; a doctor's address becomes the doctor's email only while that doctor is linked."""

import hashlib
import threading

import pytest
from records_support import DOCTOR, OWNER

from services.records import InvalidInput, PendingEmail
from services.records.tables import RowExists

NOW = 1_800_000_000_000
OTHER_DOCTOR = "0x" + "d1" * 20


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def contact(email: str, expires_ms: int = NOW + 60_000) -> PendingEmail:
    return PendingEmail(OWNER, email, "contact", None, expires_ms)


def test_a_contact_waits__then_joins_the_contacts_once(store):
    store.set_contacts(OWNER, ["old@example.org"])
    store.add_email_confirmation(digest("s1"), contact("new@example.org"))
    assert store.get_contacts(OWNER) == ["old@example.org"]
    assert store.pending_emails(OWNER, NOW) == [contact("new@example.org")]
    cursor = store.latest_cursor(OWNER)

    assert store.confirm_email(digest("s1"), NOW) == contact("new@example.org")
    assert store.get_contacts(OWNER) == ["old@example.org", "new@example.org"]
    assert store.pending_emails(OWNER, NOW) == []
    assert [c.kind for c in store.changes_since(OWNER, cursor)] == ["contacts_set"]
    assert store.confirm_email(digest("s1"), NOW) is None, "a link works once"
    assert store.get_contacts(OWNER) == ["old@example.org", "new@example.org"]


def test_an_expired_or_unknown_secret_confirms_nothing(store):
    store.add_email_confirmation(digest("late"), contact("late@example.org", NOW))
    assert store.pending_emails(OWNER, NOW) == [], "expired: no longer listed"
    assert store.confirm_email(digest("late"), NOW) is None
    assert store.confirm_email(digest("never issued"), NOW) is None
    assert store.get_contacts(OWNER) == []
    with pytest.raises(InvalidInput):
        store.confirm_email("not a digest", NOW)


def test_a_doctors_address__set_only_while_that_doctor_is_linked(store):
    store.link_doctor(OWNER, DOCTOR, None)
    assert store.get_doctor(OWNER).email is None, "linked, nothing confirmed: nothing is sent"
    store.add_email_confirmation(digest("d"), PendingEmail(OWNER, "dr@example.org", "doctor",
                                                           DOCTOR, NOW + 60_000))
    store.add_email_confirmation(digest("d-old"), PendingEmail(
        OWNER, "old-dr@example.org", "doctor", DOCTOR, NOW + 60_000))
    assert store.confirm_email(digest("d"), NOW).email == "dr@example.org"
    assert store.get_doctor(OWNER).email == "dr@example.org"

    store.link_doctor(OWNER, OTHER_DOCTOR, None)  # the patient changed doctor since
    assert store.confirm_email(digest("d-old"), NOW) is None
    assert store.get_doctor(OWNER).address == OTHER_DOCTOR
    assert store.get_doctor(OWNER).email is None


def test_dropped_confirmations_are_kept_only_for_listed_addresses(store):
    store.add_email_confirmation(digest("a"), contact("a@example.org"))
    store.add_email_confirmation(digest("b"), contact("b@example.org"))
    store.add_email_confirmation(digest("x"), contact("x@example.org", NOW - 1))
    store.add_email_confirmation(digest("d"), PendingEmail(OWNER, "dr@example.org", "doctor",
                                                           DOCTOR, 2**53))
    store.link_doctor(OWNER, DOCTOR, None)
    # b and x are contacts no longer listed; the doctor's stays
    assert store.drop_email_confirmations(OWNER, "contact", frozenset({"a@example.org"})) == 2
    assert [p.email for p in store.pending_emails(OWNER, NOW)] == ["a@example.org",
                                                                   "dr@example.org"]
    assert store.confirm_email(digest("b"), NOW) is None
    assert store.confirm_email(digest("d"), NOW).purpose == "doctor"


def test_a_cancelled_confirmation_confirms_nothing(store):
    store.add_email_confirmation(digest("c"), contact("c@example.org"))
    store.cancel_email_confirmation(digest("c"))
    store.cancel_email_confirmation(digest("c"))  # none there is fine
    assert store.confirm_email(digest("c"), NOW) is None
    assert store.get_contacts(OWNER) == []


def test_one_secret_issued_twice_is_refused(store):
    store.add_email_confirmation(digest("same"), contact("a@example.org"))
    with pytest.raises(RowExists):
        store.add_email_confirmation(digest("same"), contact("b@example.org"))
    assert [p.email for p in store.pending_emails(OWNER, NOW)] == ["a@example.org"]


def test_confirmations_racing_for_one_patient__every_address_joins(store):
    """Three mailboxes confirm at once: each read-modify-write of the contact list is one
    transaction, so neither address overwrites the other."""
    emails = [f"c{i}@example.org" for i in range(3)]
    for email in emails:
        store.add_email_confirmation(digest(email), contact(email))
    threads = [threading.Thread(target=store.confirm_email, args=(digest(e), NOW))
               for e in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(store.get_contacts(OWNER)) == emails


def test_stop_emails__the_address_leaves__a_doctor_keeps_access(store):
    store.set_contacts(OWNER, ["me@example.org", "kin@example.org"])
    store.link_doctor(OWNER, DOCTOR, "dr@example.org")
    store.add_email_confirmation(digest("w"), PendingEmail(OWNER, "kin@example.org", "contact",
                                                           None, 2**53))
    assert store.stop_emails(OWNER, "kin@example.org") is True
    assert store.get_contacts(OWNER) == ["me@example.org"]
    assert store.confirm_email(digest("w"), NOW) is None, "a waiting link no longer brings it back"
    assert store.stop_emails(OWNER, "dr@example.org") is True
    assert store.get_doctor(OWNER).address == DOCTOR and store.get_doctor(OWNER).email is None
    assert store.stop_emails(OWNER, "stranger@example.org") is False
