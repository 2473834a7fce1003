"""What reached a recording upstream since a mark, the proxy's own checks aside (they carry the
proxy's id; a client's call never can, its id is whatever the test chose)."""

PROXY_CHECK_ID = "pulseledger-proxy-check"


def mark(upstream) -> int:
    return len(upstream.requests)


def forwarded_since(upstream, since: int) -> list[dict]:
    return [r for r in upstream.requests[since:] if r["ids"] != [PROXY_CHECK_ID]]
