"""Keep-alive HTTP(S) connections to the upstreams: one per (worker thread, upstream).

http.client rather than urllib3: less work per request, headers and body go out in one write
(below), and a connection owned by one thread needs no pool locking. Redirects are never followed: http.client has no notion of them."""

import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit


class _OneWrite:
    """Headers and body in one send: two writes cost the upstream an extra wake-up per request
    (http.client stopped joining them in Python 3)."""

    def _send_output(self, message_body=None, encode_chunked=False):
        self._buffer.extend((b"", b""))
        message = b"\r\n".join(self._buffer)
        del self._buffer[:]
        self.send(message + message_body if isinstance(message_body, bytes) else message)
        if message_body is not None and not isinstance(message_body, bytes):
            raise TypeError("only bytes bodies are sent")


class _HTTPConnection(_OneWrite, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_OneWrite, http.client.HTTPSConnection):
    pass


class ConnectFailed(Exception):
    """The connection could not be opened: nothing was sent."""


class ReadTimedOut(Exception):
    pass


class ConnectionLost(Exception):
    pass


class StaleConnection(Exception):
    """A reused keep-alive connection was closed by the upstream before it answered."""


class ResponseTooLarge(Exception):
    pass


class KeepAliveConnections:
    def __init__(self, connect_timeout: float, max_response_bytes: int):
        self._connect_timeout = connect_timeout
        self._max_response = max_response_bytes
        self._local = threading.local()
        self._tls = ssl.create_default_context()

    def _connection(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        cache = self._local.__dict__.setdefault("connections", {})
        entry = cache.get(url)
        if entry is None:
            parts = urlsplit(url)
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            if parts.scheme == "https":
                conn = _HTTPSConnection(parts.hostname, parts.port, context=self._tls)
            else:
                conn = _HTTPConnection(parts.hostname, parts.port)
            entry = cache[url] = (conn, path)
        return entry

    def post(self, url: str, body: bytes, headers: dict, remaining: float) -> tuple[int, bytes]:
        conn, path = self._connection(url)
        reused = conn.sock is not None
        if not reused:
            conn.timeout = min(self._connect_timeout, remaining)
            try:
                conn.connect()
            except OSError:  # refused, unreachable, timed out, TLS failure
                conn.close()
                raise ConnectFailed() from None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(remaining)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(self._max_response + 1)
        except TimeoutError:
            conn.close()
            raise ReadTimedOut() from None
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            raise (StaleConnection() if reused else ConnectionLost()) from None
        except (OSError, http.client.HTTPException):
            conn.close()
            raise ConnectionLost() from None
        if len(data) > self._max_response:
            conn.close()
            raise ResponseTooLarge()
        if not response.isclosed():  # not read to the end: the connection cannot be reused
            conn.close()
        return response.status, data
