"""py-libp2p's logs in a peer process (`quiet_libp2p`, as `pulseledger peer` calls it): its
warnings are held back — those it logs on its own logger (which `import libp2p` had set to
WARNING, not propagating, so they reached stderr through logging.lastResort) and those it logs
through the root logger — its errors reach our handlers, and our own records are untouched. The
root-logger record is made by libp2p's own code (a connection asked for its transport addresses
after its peer left the peerstore), not written by hand."""

import logging
from types import SimpleNamespace

import pytest
from libp2p.network.connection.swarm_connection import SwarmConn

from services.peers.library_logs import LibraryRecordsOnRoot, quiet_libp2p


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _forgotten_peer_connection() -> SwarmConn:
    def addrs(_peer_id):
        raise KeyError("peer ID not found")

    return SwarmConn(SimpleNamespace(peer_id="QmGone"),
                     SimpleNamespace(peerstore=SimpleNamespace(addrs=addrs)))


@pytest.fixture
def messages():
    """What reaches the root logger's handlers; logging as it was is put back afterwards."""
    root, recorder, libp2p_logger = logging.getLogger(), Recorder(), logging.getLogger("libp2p")
    saved = root.level, list(root.filters), libp2p_logger.level, libp2p_logger.propagate
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    yield recorder.messages
    root.removeHandler(recorder)
    root.level, root.filters[:] = saved[0], saved[1]
    libp2p_logger.level, libp2p_logger.propagate = saved[2], saved[3]


def test_without_it__libp2p_root_warning_reaches_the_handlers(messages):
    assert _forgotten_peer_connection().get_transport_addresses() == []
    assert any("Error getting transport addresses" in m for m in messages)


def test_with_it__libp2p_warnings_held__errors_and_ours_kept(messages):
    quiet_libp2p()
    assert _forgotten_peer_connection().get_transport_addresses() == []
    logging.getLogger("libp2p.network.swarm").warning("a dial retry")
    logging.getLogger("libp2p.network.swarm").error("a libp2p error")
    logging.getLogger("services.peers.node").warning("our warning")
    logging.warning("our own warning through the root logger")  # noqa: LOG015 - under test
    assert messages == ["a libp2p error", "our warning", "our own warning through the root logger"]


def test_root_records_follow_the_libp2p_level(messages):
    quiet_libp2p(logging.WARNING)
    _forgotten_peer_connection().get_transport_addresses()
    assert any("Error getting transport addresses" in m for m in messages)
    assert sum(isinstance(f, LibraryRecordsOnRoot) for f in logging.getLogger().filters) == 1
    quiet_libp2p()  # again: one filter, not two
    assert sum(isinstance(f, LibraryRecordsOnRoot) for f in logging.getLogger().filters) == 1
