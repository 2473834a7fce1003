"""Runs the real daemon as a subprocess for the kill -9 tests, with the contacts from a JSON file
(the record store is merged later; the daemon code is exactly what `pulseledger listen` runs).

    python tests/listeners/run_daemon.py relay|updater|all CONTACTS.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulseledger_testkit.ledger import DictContacts  # noqa: E402

from services.listeners.daemon import run_daemon  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_daemon(sys.argv[1], contacts=DictContacts.from_file(Path(sys.argv[2]))))
