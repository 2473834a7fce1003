"""Reorgs of depth 1..5 on a real anvil (evm_snapshot / evm_revert + re-mining), confirmation
depth 3: a shallow reorg sends nothing for orphaned events; a deeper one rolls back derived state
and logs an incident."""

import pytest

from services.listeners.events import idempotency_key
from services.listeners.updater import ActivityView
from services.notify import message_id_for

from .harness import build_daemon, smtp_notifier

CONFIRMATIONS = 3


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_reorg__depth__orphans_never_emailed_or_rolled_back(depth, ledger, anvil, contacts,
                                                             smtp_server, tmp_path):
    c = ledger.contract.functions
    patient, requester = ledger.patients[0], ledger.requesters[0]
    daemon = build_daemon("all", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(smtp_server.port), confirmations=CONFIRMATIONS)
    relay, updater = daemon.units
    ledger.transact(c.requestConsent(patient, 1, 1, 2**39), requester)  # request 1: survives
    anvil.mine(CONFIRMATIONS)
    daemon.step()
    snapshot = anvil.rpc("evm_snapshot")

    # The branch that will be orphaned: request 2 in the first of `depth` blocks.
    orphan_tx = ledger.transact(c.requestConsent(patient, 2, 1, 2**39), requester)
    anvil.mine(depth - 1)
    daemon.step()
    orphan_key = idempotency_key(ledger.chain_id, orphan_tx, 0)
    emailed_before_reorg = message_id_for(orphan_key) in smtp_server.message_id_counts()
    assert emailed_before_reorg == (depth > CONFIRMATIONS)

    anvil.rpc("evm_revert", snapshot)
    other_tx = ledger.transact(c.requestConsent(patient, 4, 1, 2**39), requester)  # request 2'
    anvil.mine(depth + CONFIRMATIONS)
    daemon.step()

    for unit in daemon.units:
        assert unit.store.handled_positions() == ledger.log_keys()
    counts = smtp_server.message_id_counts()
    assert counts[message_id_for(idempotency_key(ledger.chain_id, other_tx, 0))] == 1
    assert all(count == 1 for count in counts.values())
    incidents = relay.store.incidents()
    if depth <= CONFIRMATIONS:
        assert message_id_for(orphan_key) not in counts
        assert incidents == [] and updater.store.incidents() == []
    else:
        [incident] = incidents
        assert incident["kind"] == "deep_reorg"
        assert incident["rolled_back_events"] == 1
        assert incident["effects_already_delivered"] == [orphan_key]
        assert len(updater.store.incidents()) == 1
    view = ActivityView(updater.store.path)
    consents = view.consents_of(patient)
    assert [(row["request_id"], row["data_classes"]) for row in consents] == [("1", 1), ("2", 4)]
    assert consents[1]["updated_block"] == ledger.w3.eth.get_transaction(other_tx)["blockNumber"]
    view.close()
    daemon.close()


def test_reorg__pending_email_of_orphaned_event__never_sent(ledger, anvil, contacts, tmp_path):
    """A deep reorg while the mail server is down: the orphaned event's email is cancelled."""
    from pulseledger_testkit.ports import free_port

    from services.listeners.state import ORPHANED

    c = ledger.contract.functions
    daemon = build_daemon("relay", ledger, anvil.url, tmp_path / "state", contacts,
                          smtp_notifier(free_port()), retry_initial_s=60, retry_max_s=60)
    snapshot = anvil.rpc("evm_snapshot")
    orphan_tx = ledger.transact(c.requestConsent(ledger.patients[0], 1, 1, 2**39),
                                ledger.requesters[0])
    anvil.mine(CONFIRMATIONS + 1)
    daemon.step()  # processed; its email failed once and waits for a retry
    anvil.rpc("evm_revert", snapshot)
    anvil.mine(CONFIRMATIONS + 3)
    daemon.step()
    [row] = daemon.units[0].store.effects()
    assert row.key == idempotency_key(ledger.chain_id, orphan_tx, 0)
    assert row.status == ORPHANED
    assert daemon.units[0].store.handled_positions() == set() == ledger.log_keys()
    daemon.close()
