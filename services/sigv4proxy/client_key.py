"""Who a request comes from, for the per-client limits: the same answer over HTTP and WebSocket.

Behind `TRUSTED_PROXY_HOPS` load balancers the TCP peer is the last balancer, so the client is
read from `X-Forwarded-For`, counted from the right: entries further left were written by the
client itself and are never trusted."""


def client_key(peer: str | None, forwarded_for: str, trusted_hops: int) -> str:
    """`forwarded_for`: the X-Forwarded-For value, repeated headers joined with commas (as
    gunicorn joins them for the WSGI environ)."""
    if trusted_hops > 0:
        forwarded = [hop.strip() for hop in forwarded_for.split(",")]
        if len(forwarded) >= trusted_hops and forwarded[-trusted_hops]:
            return forwarded[-trusted_hops]
    return peer or "unknown"
