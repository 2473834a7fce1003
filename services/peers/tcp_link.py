"""When did a libp2p connection's TCP link last acknowledge anything? Tells a cut link from a
busy peer. And shutting a stalled link down, so that closing it cannot hang.

A peer whose event loop is busy (a long close round) stops announcing, but its kernel still
acknowledges what we send, even once its receive buffer is full (the window probes are answered).
Closing its connection then only breaks the RPCs under way: seen in the kill matrix, 2026-12-06,
where every peer closed a busy aggregator's connection at once. A link that drops packets
acknowledges nothing from the moment it is cut. Linux reports the milliseconds since the last
acknowledgement in TCP_INFO (`tcpi_last_ack_recv`). (`tcpi_retransmits` would not do: a packet
dropped by a local firewall is retried by the probe timer, and a receive window at zero is
probed the same way, so neither shows as a retransmission.)

The socket is found by following the attributes py-libp2p's layers keep their inner connection
in (swarm connection → muxer → security → private network → raw TCP → trio's socket). Where
none is found (another transport, another library version), or the system has no TCP_INFO, the
answer is None and the caller decides without it.
"""

from __future__ import annotations

import socket
import struct
from collections import deque

# Where py-libp2p 0.8.1's layers keep the connection beneath them (the private network's
# wrapper as `_conn`), and trio's stream its socket.
INNER = ("muxed_conn", "secured_conn", "conn", "_conn", "stream", "socket")
DEPTH = 10
# struct tcp_info (linux/tcp.h): eight bytes, then 32-bit fields; tcpi_last_ack_recv is the 14th.
LAST_ACK_RECV_OFFSET = 8 + 4 * 12
TCP_INFO_READ = LAST_ACK_RECV_OFFSET + 4


def tcp_socket(connection) -> socket.socket | None:
    """The TCP socket under a libp2p connection, or None."""
    queue: deque[tuple[object, int]] = deque([(connection, 0)])
    seen: set[int] = set()
    while queue:
        obj, depth = queue.popleft()
        if id(obj) in seen or depth > DEPTH:
            continue
        seen.add(id(obj))
        if getattr(obj, "type", None) == socket.SOCK_STREAM and hasattr(obj, "getsockopt"):
            return obj  # type: ignore[return-value]
        for name in INNER:
            inner = getattr(obj, name, None)
            if inner is not None:
                queue.append((inner, depth + 1))
    return None


def since_last_ack_s(sock) -> float | None:
    """Seconds since `sock` last received an acknowledgement; None when it cannot tell."""
    if sock is None or not hasattr(socket, "TCP_INFO"):
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_READ)
    except OSError:
        return None
    if len(info) < TCP_INFO_READ:
        return None
    return struct.unpack_from("I", info, LAST_ACK_RECV_OFFSET)[0] / 1000


def shut_down(connection) -> bool:
    """Shut the TCP link under a libp2p connection down both ways; True when its socket was found.

    Closing a connection writes a goodbye first. On a cut link whose send buffer is full (a
    loaded peer's traffic, unacknowledged), that write waits until TCP gives up, ~15 min later:
    a bounded close gave up and left the connection in place, listed as connected, so the peer
    was never dialled afresh (2026-12-06). Shut down, every pending and later write fails at
    once and the close completes."""
    sock = tcp_socket(connection)
    if sock is None:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # closed already, or never connected: nothing to undo
        pass
    return True
