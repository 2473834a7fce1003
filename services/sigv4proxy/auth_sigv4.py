"""Amazon Managed Blockchain: AWS Signature Version 4 over each request, with credentials from the
standard AWS chain (environment, shared files, SSO, container or instance role), refreshed by
botocore as they expire."""

import re
import threading

_AUTHORIZATION_PARTS = re.compile(r"Credential=([^/,\s]+)/|Signature=([0-9a-f]+)")


class SigV4SigningAuth:
    def __init__(self, region: str, service: str):
        # botocore costs a quarter of a second to import: only proxies that sign pay for it.
        import botocore.session
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        self._session_factory = botocore.session.get_session
        self._signer, self._request = SigV4Auth, AWSRequest
        self._region = region
        self._service = service
        self._credentials = None
        self._lock = threading.Lock()

    def _resolve(self):
        # Resolved on first use, inside the worker process, so that refreshers never cross a fork.
        with self._lock:
            if self._credentials is None:
                credentials = self._session_factory().get_credentials()
                if credentials is None:
                    raise RuntimeError("no AWS credentials found in the standard chain")
                self._credentials = credentials
            return self._credentials

    def headers(self, url: str, body: bytes, method: str = "POST") -> dict[str, str]:
        frozen = self._resolve().get_frozen_credentials()
        # A WebSocket handshake is signed as the HTTPS GET it travels in.
        url = (
            "https" + url[3:]
            if url.startswith("wss:")
            else "http" + url[2:]
            if url.startswith("ws:")
            else url
        )
        content_type = {"Content-Type": "application/json"} if method == "POST" else {}
        request = self._request(method=method, url=url, data=body, headers=content_type)
        self._signer(frozen, self._service, self._region).add_auth(request)
        return dict(request.headers.items())

    def secrets(self, headers: dict[str, str]) -> tuple[str, ...]:
        """The access key id, the signature and the session token (the date, region and service
        in the Authorization header are not secret)."""
        lower = {name.lower(): value for name, value in headers.items()}
        found = [
            part
            for match in _AUTHORIZATION_PARTS.finditer(lower.get("authorization", ""))
            for part in match.groups()
            if part
        ]
        if "x-amz-security-token" in lower:
            found.append(lower["x-amz-security-token"])
        return tuple(found)

    def __repr__(self) -> str:
        return f"SigV4SigningAuth({self._service}, {self._region})"
