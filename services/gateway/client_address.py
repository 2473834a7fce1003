"""Who the client is, for budgets and stream limits: the connection's peer address, or — when the
peer is one of our own reverse proxies — the address that proxy saw (X-Forwarded-For).

Only proxies listed in `TRUSTED_PROXIES` are believed: anyone else can write any
X-Forwarded-For they like, so for them the header is ignored.
"""

from __future__ import annotations

import ipaddress


def resolve_client(peer: str | None, forwarded_for: str | None,
                   trusted_proxies: frozenset[str]) -> str:
    client = peer or "unknown"
    if client not in trusted_proxies or not forwarded_for:
        return client
    # Walk from the nearest hop outwards; the first address not ours is the client.
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if not _is_address(hop):
            return client  # a malformed chain: trust nothing beyond our own proxy
        if hop not in trusted_proxies:
            return hop
        client = hop
    return client


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
