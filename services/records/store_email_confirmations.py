"""Addresses waiting for their mailbox's confirmation (double opt-in): written once.

A patient names the addresses their alerts go to, and their doctor's. Before this, whatever a
signed-in wallet named was mailed, so anyone with a fresh wallet and a self-made wearable could
have heart-alert emails sent to any stranger. Now the gateway emails each new address a link
whose secret only that mailbox sees; the store keeps the secret's sha256 (a leaked row confirms
nothing) and the address joins the contacts, or becomes the doctor's email, only when the link
comes back. The notification peers and listeners read contacts and doctors as before: only
confirmed addresses are ever in them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.records import validation as v
from services.records.base import InvalidInput, PendingEmail
from services.records.tables import NewChange, Row, Write

if TYPE_CHECKING:
    from services.records.store import Store

PURPOSES = ("contact", "doctor")
TABLE = "email_confirmations"


def _token(token_sha256: str) -> str:
    if not isinstance(token_sha256, str) or len(token_sha256) != 64 \
            or any(c not in "0123456789abcdef" for c in token_sha256):
        raise InvalidInput("a confirmation is named by the sha256 of its secret (64 hex)")
    return token_sha256


def _pending(row: Row) -> PendingEmail:
    return PendingEmail(row["owner"], row["email"], row["purpose"], row.get("doctor") or None,
                        int(row["expires_ms"]))


class EmailConfirmationsMixin:
    def add_email_confirmation(self: Store, token_sha256: str, pending: PendingEmail) -> None:
        if pending.purpose not in PURPOSES:
            raise InvalidInput(f"purpose is one of {', '.join(PURPOSES)}")
        doctor = None if pending.purpose == "contact" else \
            v.address(pending.doctor or "", "doctor address")
        fields = {"owner": v.address(pending.owner, "owner"), "email": v.email(pending.email),
                  "purpose": pending.purpose, "doctor": doctor,
                  "expires_ms": int(pending.expires_ms)}
        self.tables.commit([Write("create", TABLE, _token(token_sha256), fields)])

    def pending_emails(self: Store, owner: str, now_ms: int) -> list[PendingEmail]:
        rows = self.tables.rows_where(TABLE, "owner", v.address(owner, "owner"))
        live = [_pending(r) for r in rows if int(r["expires_ms"]) > now_ms]
        return sorted(live, key=lambda p: (p.purpose, p.email))

    def drop_email_confirmations(self: Store, owner: str, purpose: str,
                                 keep: frozenset[str] = frozenset()) -> int:
        now_ms = v.now_ms()
        rows = self.tables.rows_where(TABLE, "owner", v.address(owner, "owner"))
        gone = [r["token"] for r in rows
                if int(r["expires_ms"]) <= now_ms
                or (r["purpose"] == purpose and r["email"] not in keep)]
        if gone:
            self.tables.commit([Write("delete", TABLE, token) for token in gone])
        return len(gone)

    def cancel_email_confirmation(self: Store, token_sha256: str) -> None:
        self.tables.commit([Write("delete", TABLE, _token(token_sha256))])

    def confirm_email(self: Store, token_sha256: str, now_ms: int) -> PendingEmail | None:
        token = _token(token_sha256)

        def confirm(txn) -> PendingEmail | None:
            row = txn.get(TABLE, token)
            if row is None:
                return None
            pending = _pending(row)
            if pending.purpose == "contact":
                contacts = txn.get("contacts", pending.owner)
                doctor = None
            else:
                doctor = txn.get("doctors", pending.owner)
                contacts = None
            txn.write(Write("delete", TABLE, token))  # once, whatever comes of it
            if pending.expires_ms <= now_ms:
                return None
            if pending.purpose == "contact":
                emails = list(contacts["emails"]) if contacts else []
                if pending.email not in emails:
                    txn.write(Write("set", "contacts", pending.owner,
                                    {"emails": [*emails, pending.email]}))
                txn.change(NewChange(pending.owner, "contacts_set"))
                return pending
            if doctor is None or doctor["address"] != pending.doctor:
                return None  # the patient has linked another doctor since: not this one's mail
            txn.write(Write("update", "doctors", pending.owner, {"email": pending.email}))
            txn.change(NewChange(pending.owner, "doctor_linked"))
            return pending

        return self.tables.transact(confirm)

    def stop_emails(self: Store, owner: str, email: str) -> bool:
        owner, email = v.address(owner, "owner"), v.email(email)

        def stop(txn) -> bool:
            contacts = txn.get("contacts", owner)
            doctor = txn.get("doctors", owner)
            stopped = False
            if contacts and email in contacts["emails"]:
                txn.write(Write("set", "contacts", owner,
                                {"emails": [e for e in contacts["emails"] if e != email]}))
                txn.change(NewChange(owner, "contacts_set"))
                stopped = True
            if doctor and doctor["email"] == email:
                txn.write(Write("update", "doctors", owner, {"email": ""}))
                txn.change(NewChange(owner, "doctor_linked"))
                stopped = True
            return stopped

        stopped = self.tables.transact(stop)
        waiting = [r["token"] for r in self.tables.rows_where(TABLE, "owner", owner)
                   if r["email"] == email]
        if waiting:  # a link still on its way would bring the address back
            self.tables.commit([Write("delete", TABLE, token) for token in waiting])
        return stopped
