"""What reached the upstream since a mark, health probes aside."""

PROBE_METHODS = (["eth_chainId"], ["eth_blockNumber"])


def mark(upstream) -> int:
    return len(upstream.requests)


def forwarded_since(upstream, since: int) -> list[dict]:
    return [r for r in upstream.requests[since:] if r["methods"] not in PROBE_METHODS]
