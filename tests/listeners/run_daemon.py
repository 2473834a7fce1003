"""Runs the real daemon (or the supervisor around it) as a subprocess for the process-level
tests, with the contacts from a JSON file (the record store is merged later; the daemon code is
exactly what `pulseledger listen` runs).

    python tests/listeners/run_daemon.py relay|updater|all CONTACTS.json
    python tests/listeners/run_daemon.py supervise relay CONTACTS.json
"""

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulseledger_testkit.ledger import DictContacts

from services.listeners.daemon import run_daemon
from services.listeners.settings import ListenerSettings
from services.listeners.supervisor import supervise

if __name__ == "__main__":
    if sys.argv[1] == "supervise":
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        settings = ListenerSettings()
        sys.exit(supervise([sys.executable, __file__, *sys.argv[2:]],
                           settings.restart_initial_s, settings.restart_max_s))
    sys.exit(run_daemon(sys.argv[1], contacts=DictContacts.from_file(Path(sys.argv[2]))))
