"""Aggregation, rebalance and sync: state handed to the aggregators that own it now, and a
primary's two-way sync with its replica before it accepts or closes a user's readings (a primary
back from the dead must first learn what its replica accepted meanwhile). Part of
AggregationRole (aggregation.py)."""

from __future__ import annotations

import logging
import time
from collections import defaultdict

import trio

from services.peers.messages.agg_state import MERGE, SYNC, WindowState
from services.peers.rpc import PeerUnavailable
from services.runtime.error_text import describe

log = logging.getLogger(__name__)
UNSYNCED = object()  # a device we have not synced with any replica since the live set changed


class RebalanceAndSync:
    async def _rebalance_loop(self) -> None:
        """Hand state to the aggregators that own it now; keep our replica complete."""
        while True:
            await trio.sleep(self.settings.rebalance_interval_s)
            try:
                await self.rebalance()
            except Exception as exc:  # noqa: BLE001
                self._rebalanced_for = None  # look at everything next round
                log.info("rebalance incomplete, will retry: %s", describe(exc))

    async def rebalance(self) -> None:
        """Hand over devices we no longer own; as primary, sync both ways with our replica
        before closing any of a device's windows (a primary back from the dead must first learn
        what its replica accepted meanwhile, or it would store a window short of readings)."""
        me, aggregators = self.rpc.self_id, self.membership.live("aggregation")
        now = time.monotonic()
        if aggregators != [me]:
            self._alone_since = None
        elif self._alone_since is None:
            self._alone_since = now
        if aggregators != self._rebalanced_for or now >= self._next_full_rebalance:
            candidates = self.windows.devices()
            self._rebalanced_for = aggregators
            self._next_full_rebalance = now + 10 * self.settings.rebalance_interval_s
        else:
            candidates = list(self._fresh)
        self._fresh = set()
        moving: dict[str, list[str]] = defaultdict(list)
        syncing: dict[str, list[str]] = defaultdict(list)
        leaving: list[str] = []
        for device in candidates:
            primary, replica = self.directory.primary_and_replica(device)
            if me not in (primary, replica):
                targets = [p for p in (primary, replica) if p is not None]
                if not targets:
                    continue  # nobody to hand it to: keep it
                leaving.append(device)
                for peer in targets:
                    moving[peer].append(device)
            elif me == primary:
                if replica is None:
                    if self._may_act_alone():
                        self._synced[device] = None
                elif self._synced.get(device, UNSYNCED) != replica:
                    syncing[replica].append(device)
            elif self._replicated_to.get(device) != primary:
                moving[primary].append(device)  # a new primary may not know this device yet
        versions = {d: self._touched[d] for d in leaving}
        failures = set()
        for peer, devices in moving.items():
            try:
                await self.rpc.call(peer, MERGE, WindowState.of(self.windows.export(devices)))
                for device in devices:
                    if device not in leaving:
                        self._replicated_to[device] = peer
            except Exception as exc:  # noqa: BLE001
                self._call_failed(peer, MERGE, exc)
                failures.update(devices)
        for peer, devices in syncing.items():
            try:
                theirs = await self.rpc.call(peer, SYNC,
                                                  WindowState.of(self.windows.export(devices)))
                await self._remember({peer})
                await self._merge(theirs.to_wire(), f"sync with …{peer[-6:]}")
                for device in devices:
                    self._synced[device] = peer
            except Exception as exc:  # noqa: BLE001
                self._call_failed(peer, SYNC, exc)
        # A device written to while we were handing it over stays until the next round.
        done_leaving = [d for d in leaving
                        if d not in failures and self._touched[d] == versions[d]]
        if done_leaving:
            async with self.writes.closing():
                self.windows.drop(done_leaving)
            for device in done_leaving:
                self._replicated_to.pop(device, None)
                self._synced.pop(device, None)
                self._touched.pop(device, None)

    def _call_failed(self, peer: str, op: str, error: Exception) -> None:
        """A rebalance call that failed is retried next round, every device looked at again.
        Only a peer we could not reach is marked dead: one that answered with an error (its
        handler failed, or refused) is alive, and taking it for dead moved its users' windows
        to other primaries until its next presence note — two primaries for a moment, and
        readings dead-lettered as late when their states met again."""
        self._rebalanced_for = None
        if isinstance(error, PeerUnavailable):
            self.membership.mark_dead(peer)
        else:
            log.warning("rebalance %s with …%s failed, will retry: %s", op, peer[-8:],
                        describe(error))

    def _may_act_alone(self) -> bool:
        """With no replica to copy to or sync with, a primary may accept a user's readings and
        close its windows only if no other aggregator can be holding or closing them: none ever
        shared state with us (one aggregator in the deployment), or the others have been gone
        for solo_close_after_s. A peer killed and restarted is back well within that; one that
        never comes back costs its users that delay once (their readings wait in the queue),
        and whatever it held arrives late and is dead-lettered."""
        if not self._known_peers - {self.rpc.self_id}:
            return True
        return (self._alone_since is not None and time.monotonic() - self._alone_since
                >= self.settings.solo_close_after_s)

    async def _sync_before_accepting(self, devices: set[str]) -> None:
        """As primary, learn what our replica holds before accepting a user's readings: back
        from a crash, the replica may have closed windows meanwhile, and a reading we accepted
        into one of those would be acknowledged, then never stored."""
        me = self.rpc.self_id
        by_replica: dict[str, list[str]] = defaultdict(list)
        for device in devices:
            primary, replica = self.directory.primary_and_replica(device)
            if primary == me and replica is not None \
                    and self._synced.get(device, UNSYNCED) != replica:
                by_replica[replica].append(device)
        for replica, wanted in by_replica.items():
            try:
                theirs = await self.rpc.call(replica, SYNC,
                                                  WindowState.of(self.windows.export(wanted)))
            except PeerUnavailable:
                self.membership.mark_dead(replica)
                raise
            await self._remember({replica})
            await self._merge(theirs.to_wire(), f"sync with …{replica[-6:]}")
            for device in wanted:
                self._synced[device] = replica

    async def handle_sync(self, state: WindowState, caller: str) -> WindowState:
        """The primary's half of a two-way sync: take its state, give back ours."""
        devices = sorted({row[0] for row in state.devices})
        ours = self.windows.export(devices)
        await self.handle_merge(state, caller)
        return WindowState.of(ours)
