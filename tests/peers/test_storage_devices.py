"""The storage role looks a round's devices up in one read: a window whose device is registered
is stored, one whose device was unregistered since ingest is dead-lettered with the reason, and
neither costs the other. Real record store (SQLite), the role driven directly."""

from types import SimpleNamespace

import trio
from pulseledger_testkit.admission import attestation_check

from services.peers.messages.windows import StoreRequest
from services.peers.roles.storage import StorageRole

from .helpers import attested_window, open_test_store

REGISTERED = "12D3KooWGBZEYDcyEeAytmwvStxhcTVqnjKjdsPCTpqCNeqYk7gv"
GONE = "12D3KooWP2kuYsHW6ApC9D3iEt5XgSJyhJYDLQ53EeeL5ddYjpfA"
OWNER = "0x" + "ab" * 20
START = 1_700_000_000_000


def item(device: str) -> dict:
    return attested_window(device, (1, 2), START)


def test_round_with_an_unregistered_device__its_window_parked__the_other_stored(tmp_path):
    store = open_test_store(tmp_path)
    store.register_device(REGISTERED, OWNER, b"\x01" * 32)
    role = StorageRole(settings=None, rpc=SimpleNamespace(register=lambda op, handler: None),
                       membership=None, store=store, attestations=attestation_check(tmp_path))
    reply = trio.run(role.handle, StoreRequest([item(GONE), item(REGISTERED)], 10_000), "a1")
    assert len(reply.record_ids) == 1
    assert store.get_window(reply.record_ids[0])["device_id"] == REGISTERED
    assert [d.reason for d in store.dead_letters("window")] == ["device no longer registered"]
    assert role.stored == 1
