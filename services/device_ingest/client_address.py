"""Who the client is, for its budgets: the connection's address, or — only when that connection
comes from a proxy the operator trusts — the last address in X-Forwarded-For that is not one of
those proxies (a client can write anything it likes in front of it, never after it)."""

from __future__ import annotations


def client_address(remote: str | None, forwarded_for: str | None,
                   trusted_proxies: frozenset[str]) -> str:
    remote = remote or "unknown"
    if remote not in trusted_proxies or not forwarded_for:
        return remote
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        if hop and hop not in trusted_proxies:
            return hop
    return remote
