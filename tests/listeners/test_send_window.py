"""The send window, made deterministic: the daemon dies after the mail server accepted an email
but before it committed `sent`. The restarted daemon sends it again with the same Message-ID and
counts the doubt; everything outside that window is sent exactly once."""

from pulseledger_testkit.flows import Flow

from services.listeners.state import PENDING, SENT
from services.notify import message_id_for

from .harness import build_daemon, smtp_notifier


def test_send_window__crash_after_acceptance__one_recognisable_duplicate(
        pulse, anvil, pulse_contacts, smtp_server, tmp_path):
    flow = Flow(pulse)
    flow.request(pulse.patients[0], pulse.requesters[0])
    flow.request(pulse.patients[1], pulse.requesters[1])
    anvil.mine(3)
    first = build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                         smtp_notifier(smtp_server.port))
    unit = first.units[0]
    unit.runner.poll()  # events recorded, emails queued, nothing sent yet
    caught, untouched = unit.store.due_effects(now=float("inf"), limit=10)
    # What _deliver does up to the crash: open the window, hand the email to the server...
    unit.store.mark_sending(caught.key)
    unit.deliverer.notifier.send_many(unit.deliverer.compose(caught))
    first.close()  # ...and die before mark_sent.

    second = build_daemon("relay", pulse, anvil.url, tmp_path / "state", pulse_contacts,
                          smtp_notifier(smtp_server.port))
    store = second.units[0].store
    assert {row.key: (row.status, row.in_doubt) for row in store.effects()} == {
        caught.key: (PENDING, 1), untouched.key: (PENDING, 0)}
    second.step()
    counts = smtp_server.message_id_counts()
    assert counts == {message_id_for(caught.key): 2, message_id_for(untouched.key): 1}
    assert {row.status for row in store.effects()} == {SENT}
    second.step()
    assert smtp_server.message_id_counts() == counts  # and never again
    second.close()
