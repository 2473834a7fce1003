"""Errors the gateway turns into JSON answers with a status and a reason (never a 500)."""

from __future__ import annotations


class GatewayError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after_s: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s  # sent as Retry-After (429, 503)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class BadRequest(GatewayError):
    status, code = 400, "bad_request"


class Unauthorized(GatewayError):
    status, code = 401, "unauthorized"


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class Gone(GatewayError):
    status, code = 410, "erased"


class Conflict(GatewayError):
    status, code = 409, "conflict"


class TooManyRequests(GatewayError):
    status, code = 429, "rate_limited"


class Tampered(GatewayError):
    """The stored ciphertext does not match its on-chain anchor: nothing is served."""

    status, code = 502, "tampering_detected"


class Unavailable(GatewayError):
    status, code = 503, "unavailable"


class Busy(Unavailable):
    """A capacity pool (live streams, reads, sign-in) is full right now: retry shortly."""

    code = "busy"
