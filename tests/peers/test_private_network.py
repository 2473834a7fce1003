"""The private network (libp2p PSK) in front of admission: a dialler without the network's key —
none, or another — never completes a connection, so it never reaches the admission exchange;
one with the key but no credential gets that far and is refused there. Real hosts on 127.0.0.1."""

import os

import trio

from services.peers.node import PeerNode

from .attacker import Attacker
from .helpers import peer_settings


def test_without_the_network_key__no_connection__with_it__admission_decides(tmp_path):
    strangers = {"no_psk": Attacker(network_psk=None, timeout_s=3.0),
                 "other_psk": Attacker(network_psk=os.urandom(32).hex(), timeout_s=3.0)}
    insider = Attacker(timeout_s=3.0)  # holds the PSK, no credential

    async def main():
        async with trio.open_nursery() as nursery:
            peer = PeerNode(peer_settings(tmp_path, "a", ["storage"]))
            await nursery.start(peer.run)
            dialled = {}
            for name, attacker in {**strangers, "insider": insider}.items():
                await nursery.start(attacker.run)
                try:
                    with trio.fail_after(10):
                        await attacker.dial(peer.address)
                    dialled[name] = "connected"
                except Exception as exc:  # noqa: BLE001
                    dialled[name] = type(exc).__name__
            await trio.sleep(peer.settings.admission_timeout_s + 1.0)  # the insider's timeout
            connected = {name: a.connected_to(peer.peer_id)
                         for name, a in {**strangers, "insider": insider}.items()}
            refused = dict(peer.gate.refused)
            nursery.cancel_scope.cancel()
        return dialled, connected, refused

    dialled, connected, refused = trio.run(main)
    assert dialled["no_psk"] != "connected" and dialled["other_psk"] != "connected"
    assert dialled["insider"] == "connected"
    assert connected == {"no_psk": False, "other_psk": False, "insider": False}
    assert refused == {"no_credential": 1}  # only the insider reached admission
