"""A notification peer new to a batch's users replays their stored predictions
(services/peers/alert_catchup.py) for the whole batch with one read of their devices and one
listing of their windows, however many users it holds. Each user gets only their own stored
windows in range: not those of another device of the same patient, not an erased one; and the
alerts follow as if the peer had seen those windows itself.

The role is called directly with a real record store (as test_notification_batches.py);
catch-up across peers over libp2p is test_notification_history.py's subject."""

from __future__ import annotations

import os

import pytest
import trio

from services.ingest.simulator import make_fleet, onboard
from services.notify.outbox import OutboxNotifier
from services.peers import alert_catchup
from services.peers.messages.windows import NotifyRequest
from services.records.validation import window_record_id
from services.records.window_payload import sample_payload

from .helpers import open_test_store
from .test_notification_batches import SENDER, ledger_keys, role_for
from .test_notification_history import K3_OF_4, RECIPIENTS, START, WINDOW_MS, store_window

USERS = 40


def counted(store, name: str) -> list[int]:
    """Count the store's calls of `name` (the real method still answers)."""
    calls = [0]
    real = getattr(store, name)

    def spy(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    setattr(store, name, spy)
    return calls


@pytest.mark.parametrize("per_listing", [alert_catchup.OWNERS_PER_LISTING, 7])
def test_a_batch_of_new_users__each_replays_its_own_stored_windows__in_one_listing(
        tmp_path, monkeypatch, per_listing):
    """With 7 patients a listing (memory bounded by patients, not users), 40 users take 6."""
    monkeypatch.setattr(alert_catchup, "OWNERS_PER_LISTING", per_listing)
    store = open_test_store(tmp_path)
    fleet = make_fleet(USERS, irregular_fraction=1.0, seed="catchup-batch")
    onboard(fleet, store)
    for device in fleet:  # k = 3 of 4: windows 0-2 are 2 of 3, window 3 makes the third
        for index, status in enumerate(["irregular", "regular", "irregular"]):
            store_window(store, device.user_id, index, status)
    twin = "12D3KooWCatchupTwinDevice"  # the first patient's second device: not their evidence
    store.register_device(twin, fleet[0].owner, os.urandom(32))
    for index in range(3):
        start = START + index * WINDOW_MS
        store.put_window(fleet[0].owner, twin, start,
                         sample_payload(index, device_id=twin, window_start_ms=start))
    erased = fleet[-1].user_id  # its window 2 is erased: only 1 of 3 is left, no alert
    store.erase(window_record_id(store.namespace, erased, START + 2 * WINDOW_MS))
    role = role_for(tmp_path, store, OutboxNotifier(tmp_path / "outbox", SENDER),
                    alerts=K3_OF_4)
    seen = fleet[1].user_id  # windows 0 and 1 came to this peer: only window 2 is missed
    for index, status in enumerate(["irregular", "regular"]):
        trio.run(role.handle, NotifyRequest([store_window(store, seen, index, status)]), "caller")
    listings, device_reads = counted(store, "list_windows_of_owners"), counted(store, "get_devices")
    items = [store_window(store, device.user_id, 3, "irregular") for device in fleet]

    trio.run(role.handle, NotifyRequest(items), "caller")

    assert listings == [-(-USERS // per_listing)] and device_reads == [1]
    # each user's own windows 0-2, less the erased one and the two the peer saw itself
    assert role.replayed == 3 * USERS - 1 - 2
    assert role.queued == (USERS - 1) * RECIPIENTS  # every user alerted but the erased one's
    assert {key.split("/")[1] for key in ledger_keys(role, "pending")} == \
        {device.user_id for device in fleet[:-1]}
    store.close()


def test_a_user_seen_in_order__no_listing__a_hole__only_the_windows_in_it(tmp_path):
    """A user the peer saw last window is not looked up again; after a hole (windows that went
    to another peer meanwhile), only the windows after the last one it saw are replayed."""
    store = open_test_store(tmp_path)
    [device] = make_fleet(1, irregular_fraction=1.0, seed="catchup-hole")
    onboard([device], store)
    role = role_for(tmp_path, store, OutboxNotifier(tmp_path / "outbox", SENDER),
                    alerts=K3_OF_4)
    first = store_window(store, device.user_id, 0, "irregular")
    trio.run(role.handle, NotifyRequest([first]), "caller")
    assert role.replayed == 0
    listings = counted(store, "list_windows_of_owners")
    trio.run(role.handle, NotifyRequest([store_window(store, device.user_id, 1, "regular")]),
             "caller")
    assert listings == [0] and role.replayed == 0  # in order: nothing missed
    store_window(store, device.user_id, 2, "irregular")  # went to another peer
    trio.run(role.handle, NotifyRequest([store_window(store, device.user_id, 3, "irregular")]),
             "caller")
    assert listings == [1] and role.replayed == 1  # window 2 only: 0 and 1 were seen
    assert role.queued == RECIPIENTS  # 0, 2, 3 irregular of 0-3: the alert
    store.close()
