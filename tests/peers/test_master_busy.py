"""A master holding a batch it cannot route yet (master_route_patience_s, longer than
quiet_flush_s) still counts as pulling readings: its presence notes say so, and no aggregator
flushes the windows those readings belong to. The master's queue and routing are stand-ins
here; what is checked is the busy signal its presence notes carry."""

from types import SimpleNamespace

import trio

from services.peers.roles.master import MasterRole
from services.peers.settings import PeersSettings


class _OneBatchQueue:
    def __init__(self):
        self.batches, self.completed = [["message"]], []

    def receive(self, max_messages):
        return self.batches.pop() if self.batches else []

    def complete(self, messages):
        self.completed += messages

    def renew(self, messages):
        pass


def test_holding_a_batch_longer_than_quiet_flush__still_busy__not_after_it_is_done(tmp_path):
    settings = PeersSettings(data_dir=tmp_path, name="m", digest_key="07" * 32,
                             quiet_flush_s=0.05, master_idle_poll_s=0.01)
    queue = _OneBatchQueue()
    master = MasterRole(settings=settings, ingest_settings=SimpleNamespace(lock_s=30.0),
                        queue=queue, store=None, rpc=None,
                        membership=SimpleNamespace(live=lambda role=None: ["aggregator"]),
                        directory=None, signer=None, receipts=None)
    routed = trio.Event()

    async def process(messages, laps=None):  # no aggregator acknowledges until `routed`
        await routed.wait()
        return messages, []

    master.process = process

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(master._loop)
            await trio.sleep(0.3)  # six times quiet_flush_s
            held = master.busy()
            routed.set()
            await trio.sleep(0.3)
            nursery.cancel_scope.cancel()
        return held

    assert trio.run(main)
    assert queue.completed == ["message"]
    assert not master.busy()
