"""Open WebSocket connections per client, capped: each one holds an upstream socket of its own,
so without a cap one client could hold as many upstream connections as it opens.

The proxy-ws process is one asyncio loop: a plain dict needs no lock."""


class ClientConnections:
    def __init__(self, max_per_client: int):
        self._max = max_per_client
        self._open: dict[str, int] = {}

    def admit(self, client: str) -> bool:
        """Counts a new connection of `client`; False (and not counted) when it has the most."""
        count = self._open.get(client, 0)
        if count >= self._max:
            return False
        self._open[client] = count + 1
        return True

    def release(self, client: str) -> None:
        count = self._open[client] - 1
        if count:
            self._open[client] = count
        else:
            del self._open[client]  # the table holds connected clients only
