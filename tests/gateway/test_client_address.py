"""Who the client is behind our own reverse proxies, and only ours."""

import pytest

from services.gateway.client_address import resolve_client

PROXIES = frozenset({"127.0.0.5", "127.0.0.6"})


@pytest.mark.parametrize("peer, forwarded, client", [
    ("127.0.0.9", None, "127.0.0.9"),
    ("127.0.0.9", "127.0.0.1", "127.0.0.9"),  # not our proxy: the header is ignored
    ("127.0.0.5", "127.0.0.1", "127.0.0.1"),
    ("127.0.0.5", "127.0.0.2, 127.0.0.1", "127.0.0.1"),  # the nearest untrusted hop
    ("127.0.0.5", "127.0.0.1, 127.0.0.6", "127.0.0.1"),  # through two of our proxies
    ("127.0.0.5", "127.0.0.6", "127.0.0.6"),  # nothing beyond our own proxies
    ("127.0.0.5", "not-an-address, 127.0.0.1", "127.0.0.1"),
    ("127.0.0.5", "127.0.0.1, garbage", "127.0.0.5"),  # a malformed chain: trust nothing
    (None, None, "unknown"),
])
def test_resolve_client(peer, forwarded, client):
    assert resolve_client(peer, forwarded, PROXIES) == client
