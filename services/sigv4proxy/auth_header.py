"""Providers that take a token in a header (x-api-key, Authorization: Bearer ...)."""

from pydantic import SecretStr


class HeaderAuth:
    def __init__(self, headers: dict[str, SecretStr]):
        self._headers = headers

    def headers(self, url: str, body: bytes, method: str = "POST") -> dict[str, str]:
        return {name: value.get_secret_value() for name, value in self._headers.items()}

    def secrets(self, headers: dict[str, str]) -> tuple[str, ...]:
        # The whole value, and its credential alone ("Bearer abc" is quoted as "abc" too).
        parts = []
        for value in headers.values():
            parts.append(value)
            parts.extend(value.split()[1:])
        return tuple(parts)

    def __repr__(self) -> str:  # never the values
        return f"HeaderAuth({sorted(self._headers)})"
