"""A window as sent → a window of values, read once, with what makes it unjudgeable as a whole.

Callers may pass any iterable as readings (a generator from a stream): it is read exactly once,
here, and everything after (checks, features, the input fingerprint) sees the same values. A
window whose identity cannot be read (user id not a string, start not an integer, not a Window
at all) is answered on its own with the reason; the other windows of its batch are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.predict.base import Window

_SEQUENCES = (list, tuple)
_EMPTY = Window("", 0, (), None, None)


def _read(values: object) -> tuple[object, str | None]:
    """Lists and tuples as they are; other iterables read once into a tuple; the rest as sent."""
    if values is None or type(values) in _SEQUENCES:
        return values, None
    if isinstance(values, str | bytes | dict) or not isinstance(values, Iterable):
        return values, None  # not a series: the checks answer it with a reason
    try:
        return tuple(values), None
    except Exception as error:  # noqa: BLE001 - any failing stream costs that window only
        return (), f"could not be read ({type(error).__name__})"


def materialise(window: object) -> tuple[Window, str | None]:
    """(the window with its values read, why it is invalid as a whole or None)."""
    if not isinstance(window, Window):
        return _EMPTY, f"window: expected a Window, got {type(window).__name__}"
    user_id, start_ms, signal = window.user_id, window.start_ms, window.signal
    heart_rates, hr_problem = _read(window.heart_rates)
    rr_ms, rr_problem = _read(window.rr_ms)
    context_hr, context_hr_problem = _read(window.context_heart_rates)
    context_rr, context_rr_problem = _read(window.context_rr_ms)
    if (
        type(user_id) is str
        and type(start_ms) is int
        and -(2**63) <= start_ms < 2**63
        and heart_rates is window.heart_rates
        and rr_ms is window.rr_ms
        and context_hr is window.context_heart_rates
        and context_rr is window.context_rr_ms
    ):
        return window, None  # the common case: nothing to copy
    problems = []
    if not isinstance(user_id, str):
        problems.append(f"user_id: expected a string, got {type(user_id).__name__}")
    if isinstance(start_ms, bool) or not isinstance(start_ms, int):
        if isinstance(start_ms, float) and start_ms.is_integer():
            start_ms = int(start_ms)
        else:
            problems.append(f"start_ms: expected an integer (ms), got {type(start_ms).__name__}")
    if isinstance(start_ms, int) and not -(2**63) <= start_ms < 2**63:
        problems.append("start_ms: outside the 64-bit range")
    if hr_problem:
        problems.append(f"heart_rates: {hr_problem}")
    if rr_problem:
        problems.append(f"rr_ms: {rr_problem}")
    if context_hr_problem:
        problems.append(f"context_heart_rates: {context_hr_problem}")
    if context_rr_problem:
        problems.append(f"context_rr_ms: {context_rr_problem}")
    values = Window(user_id, start_ms, heart_rates, rr_ms, signal, context_hr, context_rr)
    return values, "; ".join(problems) or None


def materialise_all(windows: Iterable[object]) -> tuple[list[Window], list[str | None]]:
    """materialise over a batch: (windows with values read, per-window invalid reason or None)."""
    out = list(windows)
    invalid: list[str | None] = [None] * len(out)
    # The common window (lists or tuples, a str id, an int start) is used as it is; checking
    # that inline costs a third of calling materialise for each of 100k windows.
    for i, w in enumerate(out):
        if (
            type(w) is Window
            and type(w.user_id) is str
            and type(w.start_ms) is int
            and type(w.heart_rates) in _SEQUENCES
            and (w.rr_ms is None or type(w.rr_ms) in _SEQUENCES)
            and (w.context_heart_rates is None or type(w.context_heart_rates) in _SEQUENCES)
            and (w.context_rr_ms is None or type(w.context_rr_ms) in _SEQUENCES)
            and -(2**63) <= w.start_ms < 2**63
        ):
            continue
        out[i], invalid[i] = materialise(w)
    return out, invalid
