"""A window's context (the same person's minute before, Window.context_*) as the screen reads it:
read once into one flat float64 array per batch, then joined with each window's own values into
the series the context features are computed over.

Flat, not a padded matrix: a batch's contexts hold ~60-150 values each, and filtering, cutting
and joining them are then 1-D masks and index arithmetic over the values that exist, with no
sort and no padding (this runs for every window of the 100k-windows-per-CPU-second budget). The
same array gives the context's bytes for the input fingerprint (base.context_bytes).
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass

import numpy as np

_NONE = -1
_COUNT = struct.Struct("<I")
_NONE_BYTES = _COUNT.pack(0xFFFFFFFF)
_SEQUENCES = (list, tuple)


@dataclass
class ContextValues:
    flat: np.ndarray  # every window's context values, as float64, one after another
    counts: np.ndarray  # values per window; -1 where the window has no context of this kind
    offsets: np.ndarray  # where each window's values start in `flat`
    exact: np.ndarray  # bool: flat holds the window's values as numpy converts them (hashable)

    def fingerprint_parts(self) -> list[bytes]:
        """This kind's part of base.context_bytes for every window (right for exact ones)."""
        buffer, pack = self.flat.tobytes(), _COUNT.pack
        return [
            _NONE_BYTES if count < 0 else pack(count) + buffer[8 * start : 8 * (start + count)]
            for count, start in zip(self.counts.tolist(), self.offsets.tolist(), strict=True)
        ]


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


def joined_with_own(
    context: ContextValues, keep: int, low: float, high: float,
    own: np.ndarray, own_counts: np.ndarray, judged: np.ndarray, as_interval: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(values, counts) for the `judged` windows, one after another (the layout
    features.context_features reads): each window's last `keep` context values that are finite
    and within [low, high] (others left out, not refused: the context only helps), as intervals
    in ms (60000 / value with as_interval), then its own `own_counts` values of `own`."""
    picked = np.flatnonzero(judged)
    own_counts = np.minimum(own_counts[picked], own.shape[1])
    present = np.maximum(context.counts[picked], 0)
    # the picked windows' context values, in window order
    row = np.repeat(np.arange(picked.size), present)
    source = np.repeat(context.offsets[picked], present) + (
        np.arange(row.size) - np.repeat(np.cumsum(present) - present, present))
    flat = context.flat[source]
    with np.errstate(invalid="ignore"):
        kept = (source - context.offsets[picked][row] >= present[row] - keep) \
            & (flat >= low) & (flat <= high)
    values, row = flat[kept], row[kept]
    if as_interval:
        values = 60_000 / values
    context_counts = np.bincount(row, minlength=picked.size)
    counts = context_counts + own_counts
    starts = np.cumsum(counts) - counts
    out = np.empty(int(counts.sum()))
    out[starts[row] + np.arange(row.size) - (np.cumsum(context_counts) - context_counts)[row]] = values
    own_rows, own_columns = np.nonzero(np.arange(own.shape[1]) < own_counts[:, None])
    out[starts[own_rows] + context_counts[own_rows] + own_columns] = own[picked][own_rows, own_columns]
    return out, counts
