"""py-libp2p's warnings logged through the root logger follow the `libp2p` logger's level once
the filter is installed (as `pulseledger peer` does); our own records and other libraries' do not
change. The libp2p record is made by libp2p's own code (a connection asked for its transport
addresses after its peer left the peerstore), not written by hand."""

import logging
from types import SimpleNamespace

import pytest
from libp2p.network.connection.swarm_connection import SwarmConn

from services.peers.library_logs import LibraryRecordsOnRoot


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _forgotten_peer_connection() -> SwarmConn:
    def addrs(_peer_id):
        raise KeyError("peer ID not found")

    muxed = SimpleNamespace(peer_id="QmGone")
    return SwarmConn(muxed, SimpleNamespace(peerstore=SimpleNamespace(addrs=addrs)))


@pytest.fixture
def root_records():
    root, recorder, libp2p_logger = logging.getLogger(), Recorder(), logging.getLogger("libp2p")
    level, libp2p_level = root.level, libp2p_logger.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    libp2p_logger.setLevel(logging.ERROR)
    added = LibraryRecordsOnRoot()
    yield recorder.messages, added
    root.removeFilter(added)
    root.removeHandler(recorder)
    root.setLevel(level)
    libp2p_logger.setLevel(libp2p_level)


def test_without_the_filter__libp2p_warning_reaches_the_root_handlers(root_records):
    messages, _ = root_records
    assert _forgotten_peer_connection().get_transport_addresses() == []
    assert any("Error getting transport addresses" in m for m in messages)


def test_with_the_filter__held_to_the_libp2p_level__ours_kept(root_records):
    messages, added = root_records
    logging.getLogger().addFilter(added)
    assert _forgotten_peer_connection().get_transport_addresses() == []
    logging.warning("our own warning through the root logger")  # noqa: LOG015 - the case under test
    assert messages == ["our own warning through the root logger"]


def test_with_the_libp2p_logger_at_warning__its_root_warnings_pass(root_records):
    messages, added = root_records
    logging.getLogger().addFilter(added)
    logging.getLogger("libp2p").setLevel(logging.WARNING)
    _forgotten_peer_connection().get_transport_addresses()
    assert any("Error getting transport addresses" in m for m in messages)
