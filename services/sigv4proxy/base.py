"""The one interface each upstream auth adapter implements."""

from typing import Protocol


class UpstreamAuth(Protocol):
    def headers(self, url: str, body: bytes) -> dict[str, str]:
        """Headers that authenticate this exact POST of `body` to `url`."""
