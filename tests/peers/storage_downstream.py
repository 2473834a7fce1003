"""A real storage role behind an aggregator's calls, as a remote peer is reached, and what the
record store then holds: for tests of readings stored as a part of their window (orphans of a
merge, late readings)."""

import json
from types import SimpleNamespace

import trio
from pulseledger_testkit.admission import attestation_check

from services.peers.messages.windows import PREDICT, STORE
from services.peers.roles.storage import StorageRole
from services.peers.rpc import PeerUnavailable
from services.records.validation import window_part_id

DEVICE = "12D3KooWGBZEYDcyEeAytmwvStxhcTVqnjKjdsPCTpqCNeqYk7gv"
OWNER = "0x" + "ab" * 20
START = 1_700_000_000_000


def readings(seqs) -> list[dict]:
    return [{"userId": DEVICE, "seq": s, "ts_ms": START + s * 1000, "heartrate": 70.0 + s,
             "rr": [850]} for s in seqs]


class Downstream:
    """The screen (every window regular) and a real storage role, reached as a remote peer
    is: each request through its wire form; `down` makes storage unreachable."""

    def __init__(self, tmp_path, store):
        self.storage = StorageRole(settings=None,
                                   rpc=SimpleNamespace(register=lambda op, handler: None),
                                   membership=None, store=store,
                                   attestations=attestation_check(tmp_path))
        self.down = False
        self.screened = 0
        self.notified: list[dict] = []

    async def call_role(self, role, op, request):
        request = type(request).from_wire(json.loads(json.dumps(request.to_wire())))
        if op == PREDICT:
            self.screened += len(request.windows)
            return SimpleNamespace(predictions=[{"status": "regular"} for _ in request.windows])
        assert op == STORE
        if self.down:
            raise PeerUnavailable("storage cut off")
        return await self.storage.handle(request, "aggregator-b")

    async def call_role_by_key(self, role, op, items, key, request):
        self.notified += items  # a close round's notices (parts alert nobody on their own)


def parts(store) -> list[list[int]]:
    ids = [window_part_id(store.namespace, DEVICE, START, n) for n in range(4)]
    listed = {m.record_id for m in store.list_windows(OWNER)}
    return [[r["seq"] for r in store.get_window(i)["readings"]] for i in ids if i in listed]


def run_loop_until(role, done, limit_s: float = 10) -> None:
    async def main():
        with trio.fail_after(limit_s):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(role._unsent_loop)
                await done()
                nursery.cancel_scope.cancel()

    trio.run(main)
