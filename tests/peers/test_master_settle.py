"""A master starts pulling only once its view of the live aggregators has held still for
master_settle_s (readings routed on a half-formed view bounce as `not_primary` and, in a
backlog, come back late). Trio's mock clock runs the waits; no wall time is asserted."""

import trio
import trio.testing

from services.peers.roles.master import MasterRole
from services.peers.settings import PeersSettings


class _Membership:
    """The live aggregators as a script: (from this time on, this list)."""

    def __init__(self, script):
        self.script = script

    def live(self, role=None):
        now = trio.current_time()
        return [live for start, live in self.script if start <= now][-1]


def _master(tmp_path, script, settle_s):
    settings = PeersSettings(data_dir=tmp_path, digest_key="11" * 32, master_settle_s=settle_s)
    return MasterRole(settings=settings, ingest_settings=None, queue=None, store=None, rpc=None,
                      membership=_Membership(script), directory=None, signer=None, receipts=None)


def _settled_at(master) -> float:
    async def main():
        await master._settle()
        return trio.current_time()
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_settle__aggregators_still_arriving__waits_until_the_view_held_still(tmp_path):
    script = [(0, []), (1.0, ["a1"]), (2.5, ["a1", "a2"]), (3.0, ["a1", "a2", "a3"])]
    settled = _settled_at(_master(tmp_path, script, settle_s=2.0))
    assert settled >= 3.0 + 2.0  # not before the last change has held for the settle time
    assert settled < 3.0 + 2.0 + 0.5


def test_settle__no_aggregator_yet__keeps_waiting_for_one(tmp_path):
    settled = _settled_at(_master(tmp_path, [(0, []), (30.0, ["a1"])], settle_s=1.0))
    assert settled >= 31.0
