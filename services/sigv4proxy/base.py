"""The one interface each upstream auth adapter implements."""

from typing import Protocol


class UpstreamAuth(Protocol):
    def headers(self, url: str, body: bytes, method: str = "POST") -> dict[str, str]:
        """Headers that authenticate this exact request (a POST of `body`, or the GET that opens
        a WebSocket) to `url`."""

    def secrets(self, headers: dict[str, str]) -> tuple[str, ...]:
        """The credential parts of `headers` (as `headers()` returned them): an upstream reply
        that contains any of them is never passed on."""
