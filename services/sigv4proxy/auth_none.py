"""A plain RPC (a local node, a keyless endpoint): nothing to add."""


class NoAuth:
    def headers(self, url: str, body: bytes, method: str = "POST") -> dict[str, str]:
        return {}

    def secrets(self, headers: dict[str, str]) -> tuple[str, ...]:
        return ()
