"""The garbage collector's settings for a long-running service process that moves many small
objects (readings, rows, JSON) through it.

CPython's defaults (a young-generation pass every 700 net allocations) were made for small
scripts: an all-in-one peer draining a backlog ran about 9,000 young and 57 full passes in
90 s, 11.5 s of its CPU, most of it re-scanning the same long-lived objects (device keys,
settings, caches, libp2p state). Freezing what start-up built moves it out of every later
pass, and a larger young generation makes passes rare without letting cycles pile up: the
same drain then spent 1.4 s in the collector and ran about 30% faster
(docs/decisions/2026-12-04-gc-tuning.md). Reference cycles are still collected; only how
often the collector looks changes.
"""

from __future__ import annotations

import gc

# Young-generation size (allocations net of frees before a pass), then how many passes of each
# generation before the next one up: a pass over 50,000 young objects takes a few ms.
THRESHOLDS = (50_000, 20, 10)


def tune_for_throughput() -> None:
    """Call once, after start-up and before the service loop (never in a test process: a
    frozen object is never collected, and a test process starts many services)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
