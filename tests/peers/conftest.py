import sys
from pathlib import Path

# The shared real-server helpers live in tests/pulseledger_testkit (a site package already owns
# `tests`); the peers' test operator (pulseledger_testkit.admission) is one of them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
