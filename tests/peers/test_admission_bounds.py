"""Inbound connections waiting to present a credential are bounded (admission/gate.py): whoever
holds the network's PSK (a revoked peer keeps it) could otherwise open connections without end,
each held up to the admission timeout (and, beyond the gate's queue, for ever). Real hosts on the
loopback range: the flood comes from 127.0.0.1, an honest peer from 127.0.0.2."""

import trio

from services.peers.node import PeerNode

from .attacker import Attacker
from .helpers import peer_settings

FLOOD = 6


async def _flooded_peer(tmp_path, nursery, timeout_s: float, most: int,
                        most_per_address: int) -> tuple[PeerNode, list[Attacker]]:
    """A storage peer with these admission bounds, once FLOOD connections came from 127.0.0.1
    that never present a credential. Those shed are then stopped: their swarms would dial
    again later, and take places the test counts."""
    peer = PeerNode(peer_settings(tmp_path, "a", ["storage"], admission_timeout_s=timeout_s,
                                  admission_pending_max=most,
                                  admission_pending_per_address=most_per_address))
    await nursery.start(peer.run)
    attackers, stops = [], []
    for _ in range(FLOOD):
        attacker = Attacker(timeout_s=3.0)  # holds the PSK, no credential
        stops.append(await nursery.start(_stoppable, attacker))
        try:
            with trio.fail_after(10):
                await attacker.dial(peer.address)
        except Exception:  # noqa: BLE001, S110 — closed as it connected: counted below
            pass
        attackers.append(attacker)
    await trio.sleep(0.5)  # the sheds' closes land
    for attacker, stop in zip(attackers, stops, strict=True):
        if not attacker.connected_to(peer.peer_id):
            stop.cancel()
    return peer, attackers


async def _stoppable(attacker: Attacker, task_status=trio.TASK_STATUS_IGNORED) -> None:
    with trio.CancelScope() as scope:
        await attacker.run(task_status=_Started(task_status, scope))


class _Started:
    """Hands the attacker's cancel scope to whoever started it, once it runs."""

    def __init__(self, task_status, scope):
        self.task_status, self.scope = task_status, scope

    def started(self, _value=None) -> None:
        self.task_status.started(self.scope)


def test_flood_from_one_address__beyond_its_places_closed_at_once__others_still_admitted(tmp_path):
    async def main():
        async with trio.open_nursery() as nursery:
            peer, attackers = await _flooded_peer(tmp_path, nursery, timeout_s=4.0, most=64,
                                                  most_per_address=3)
            during = {"busy": peer.gate.refused["busy"],
                      "connected": sum(a.connected_to(peer.peer_id) for a in attackers),
                      "waiting": peer.gate.metrics()["admission_waiting_peers"]}
            honest = PeerNode(peer_settings(tmp_path, "b", ["storage"], bootstrap=[peer.address],
                                            listen_host="127.0.0.2"))
            await nursery.start(honest.run)
            with trio.fail_after(3.0):  # inside the flood's own timeout: it still holds its places
                while peer.gate.credential_of(honest.peer_id) is None:
                    await trio.sleep(0.05)
            await trio.sleep(peer.settings.admission_timeout_s + 0.5)
            after = {"refused": dict(peer.gate.refused),
                     "connected": sum(a.connected_to(peer.peer_id) for a in attackers),
                     "waiting": peer.gate.metrics()["admission_waiting_peers"]}
            nursery.cancel_scope.cancel()
        return during, after

    during, after = trio.run(main)
    # a dial closed during its handshake is retried by the dialler's swarm: each try is shed
    assert during["busy"] >= FLOOD - 3 and (during["connected"], during["waiting"]) == (3, 3)
    assert after["refused"] == {"busy": during["busy"], "no_credential": 3}
    assert (after["connected"], after["waiting"]) == (0, 0)


def test_places_are_bounded_in_all__and_one_that_hangs_up_frees_its_place(tmp_path):
    async def main():
        async with trio.open_nursery() as nursery:
            peer, attackers = await _flooded_peer(tmp_path, nursery, timeout_s=30.0, most=2,
                                                  most_per_address=32)
            shed = peer.gate.refused["busy"]
            waiting = [a for a in attackers if a.connected_to(peer.peer_id)]
            for attacker in waiting:  # they hang up long before the 30-s timeout
                await attacker.host.get_network().close_peer(peer.gate.host.get_id())
            await trio.sleep(0.5)
            freed = peer.gate.metrics()["admission_waiting_peers"]
            late = Attacker(timeout_s=3.0)
            await nursery.start(late.run)
            await late.dial(peer.address)
            await trio.sleep(0.5)
            taken = (late.connected_to(peer.peer_id), peer.gate.refused["busy"])
            nursery.cancel_scope.cancel()
        return shed, len(waiting), freed, taken

    shed, waiting, freed, taken = trio.run(main)
    assert shed >= FLOOD - 2 and waiting == 2  # retried dials are shed again (see above)
    assert freed == 0  # a connection gone before presenting gives its place back at once
    assert taken == (True, shed)  # so the next one waits instead of being shed
