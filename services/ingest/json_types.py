"""What counts as an integer and a number in a reading: JSON booleans are not numbers, and Python's
json module accepts NaN and Infinity, which no reading may carry."""

from __future__ import annotations

import math


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)
