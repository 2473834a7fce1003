"""py-libp2p's warnings that bypass its own logger.

`pulseledger peer` holds the `libp2p` logger at ERROR: its dial retries and closed streams are
this network's routine (peers restart, presence dials the dead). A few of its modules log through
the root logger instead (`logging.warning(...)` in swarm_connection.py: "Error getting transport
addresses: 'peer ID not found'" from every peer at every restart), which no logger level of ours
reaches. This filter, on the root logger, holds records logged there from inside the libp2p
package to the `libp2p` logger's level; our own records and every other library's are untouched.
"""

from __future__ import annotations

import logging
from pathlib import Path

import libp2p

LIBP2P_DIR = str(Path(libp2p.__file__).resolve().parent)


class LibraryRecordsOnRoot(logging.Filter):
    def __init__(self, package_dir: str = LIBP2P_DIR, logger_name: str = "libp2p"):
        super().__init__()
        self._prefix = package_dir.rstrip("/") + "/"
        self._logger = logging.getLogger(logger_name)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "root" or not str(Path(record.pathname).resolve()).startswith(self._prefix):
            return True
        return record.levelno >= self._logger.getEffectiveLevel()


def hold_libp2p_root_records() -> None:
    """Install the filter once on the root logger (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(f, LibraryRecordsOnRoot) for f in root.filters):
        root.addFilter(LibraryRecordsOnRoot())
