"""Outbound connections leave from the address the peer listens on.

On a machine with several addresses (or several simulated hosts on 127.0.0.2, .3, .4) the kernel
otherwise picks the source address of a dial by route — 127.0.0.1 for any loopback target — so a
peer's connections would not come from its host, and a packet filter could not cut that host off
(tests/hosts). py-libp2p's TCP transport can bind a dial's source (`dial_with_source`, made for
hole punching) but the swarm passes a source only for hole punches; this wraps the transport's
plain `dial` so every dial binds (listen_host, any port). A wildcard listen address keeps the
kernel's choice.
"""

from __future__ import annotations

WILDCARDS = {"", "0.0.0.0", "::"}


def dial_from(host, address: str) -> None:
    """Bind every TCP dial of `host` to `address` (an ephemeral port each time)."""
    if address in WILDCARDS:
        return
    from libp2p.transport.tcp.tcp import TCP

    for transport in host.get_network().transport_manager.get_transports():
        if isinstance(transport, TCP):
            _bind_dials(transport, address)


def _bind_dials(transport, address: str) -> None:
    async def dial(maddr):
        return await transport.dial_with_source(maddr, (address, 0))

    transport.dial = dial
