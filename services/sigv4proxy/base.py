"""The one interface each upstream auth adapter implements."""

from typing import Protocol


class UpstreamAuth(Protocol):
    def headers(self, url: str, body: bytes, method: str = "POST") -> dict[str, str]:
        """Headers that authenticate this exact request (a POST of `body`, or the GET that opens
        a WebSocket) to `url`."""
