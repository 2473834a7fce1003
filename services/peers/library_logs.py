"""py-libp2p's logs in a peer process: held at ERROR, formatted like ours.

Its dial retries and reset streams are this network's routine (peers restart, presence dials the
dead). Two traps kept that level from holding:
- `import libp2p` runs its `setup_logging()`: the `libp2p` logger at WARNING, no handler, not
  propagating, so its warnings reached stderr through `logging.lastResort`, unformatted, and any
  level set before the (lazy) import was overwritten. `quiet_libp2p` runs after the import.
- a few of its modules log through the root logger (`logging.warning(...)` in
  swarm_connection.py: "Error getting transport addresses: 'peer ID not found'" from every peer at
  every restart), which no logger level reaches. A filter on the root logger holds records logged
  there from inside the libp2p package to the `libp2p` logger's level; our own records and every
  other library's are untouched.
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


def quiet_libp2p(level: int = logging.ERROR) -> None:
    """py-libp2p's records at `level` and above, through our handlers (idempotent)."""
    libp2p_logger = logging.getLogger("libp2p")
    libp2p_logger.setLevel(level)
    libp2p_logger.propagate = True
    root = logging.getLogger()
    if not any(isinstance(f, LibraryRecordsOnRoot) for f in root.filters):
        root.addFilter(LibraryRecordsOnRoot())
