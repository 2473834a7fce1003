"""A window's context (the same person's minute before, Window.context_*) as the screen reads it:
read once into one flat float64 array per batch, from which context_features gathers each
window's values and the fingerprints take their bytes (base.context_bytes).

Flat, not a padded matrix: a batch's contexts hold ~60-150 values each, and a window's are then
one contiguous run with no padding (this runs for every window of the 100k-windows-per-CPU-
second budget).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

_NONE = -1
_SEQUENCES = (list, tuple)


@dataclass
class ContextValues:
    flat: np.ndarray  # every window's context values, as float64, one after another
    counts: np.ndarray  # values per window; -1 where the window has no context of this kind
    offsets: np.ndarray  # where each window's values start in `flat`
    exact: np.ndarray  # bool: flat holds the window's values as numpy converts them (hashable)


def read_context(rows: list) -> ContextValues:
    """ContextValues of each window's context of one kind (None, or a list/tuple of numbers;
    anything else reads as NaN, left out later, and the window is hashed one by one)."""
    n = len(rows)
    counts = np.fromiter(
        (len(r) if type(r) in _SEQUENCES else _NONE for r in rows), np.int64, count=n
    )
    exact = np.fromiter((r is None or type(r) in _SEQUENCES for r in rows), bool, count=n)
    present = np.maximum(counts, 0)
    offsets = np.cumsum(present) - present
    total = int(present.sum())
    try:
        flat = np.fromiter(
            itertools.chain.from_iterable(r for r in rows if type(r) in _SEQUENCES),
            np.float64, count=total,
        )  # fmt: skip
    except (TypeError, ValueError):
        flat = np.empty(total)
        for i, row in enumerate(rows):
            if counts[i] > 0:
                start = int(offsets[i])
                try:
                    flat[start : start + len(row)] = np.fromiter(row, np.float64, count=len(row))
                except (TypeError, ValueError):
                    flat[start : start + len(row)] = [_number(v) for v in row]
                    exact[i] = False
    return ContextValues(flat, counts, offsets, exact)


def _number(value: object) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
