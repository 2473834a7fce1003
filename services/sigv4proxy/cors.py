"""CORS for the dapp's configured origins only. Other origins get no CORS headers, so browsers
keep their pages from reading anything; their POSTs are refused outright (ours to pay for)."""

_ALLOWED_REQUEST_HEADERS = {"content-type"}
_MAX_AGE_SECONDS = "600"


class CorsPolicy:
    def __init__(self, origins: list[str]):
        self._origins = frozenset(o.rstrip("/") for o in origins)

    def allows(self, origin: str | None) -> bool:
        return origin is None or origin in self._origins

    def response_headers(self, origin: str | None) -> dict[str, str]:
        if origin is None or origin not in self._origins:
            return {"Vary": "Origin"}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    def preflight(self, origin: str | None, method: str | None, headers: str | None) -> dict | None:
        """Headers for a successful preflight, or None to refuse it."""
        if origin is None or origin not in self._origins or method != "POST":
            return None
        requested = {h.strip().lower() for h in (headers or "").split(",") if h.strip()}
        if not requested <= _ALLOWED_REQUEST_HEADERS:
            return None
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": _MAX_AGE_SECONDS,
            "Vary": "Origin",
        }
