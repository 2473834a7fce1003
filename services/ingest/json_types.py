"""What counts as an integer and a number in a reading: JSON booleans are not numbers, and Python's
json module accepts NaN and Infinity, which no reading may carry. Nor does it bound integers: one of
309 digits or more is beyond any double (`math.isfinite` and `float()` raise OverflowError on it),
so it is no reading's number either, refused as one rather than failing the check."""

from __future__ import annotations

import math
import sys

_LARGEST_FLOAT = sys.float_info.max


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return is_int(value) and -_LARGEST_FLOAT <= value <= _LARGEST_FLOAT
