"""window_sha256 of every window of a checked batch, from the matrices already built.

A window's message (base.window_message) is ~1.3 kB once its context is in it, and assembling
it from Python byte strings cost more than hashing it: ten slices, packs and joins a window.
Here one compiled pass (numba, cached on disk) writes every message into one buffer, and Python
only hashes slices of it, ~1 us a window of the 100k-windows-per-CPU-second budget. The bytes
are the ones base.window_message builds, which tests/predict/test_provenance.py holds them to;
a window not held exactly in the matrices (odd values, a refused field) is hashed on its own
by base.window_sha256.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence

import numpy as np

from services.predict.base import (
    _CONTEXT_MARK,
    _HASH_DOMAIN,
    SIGNALS,
    Window,
    fingerprint,
    signal_bytes,
    window_sha256,
)
from services.predict.compiled import compiled
from services.predict.inputs import CheckedBatch

if sys.byteorder != "little":  # the matrices' float64 bytes are hashed as stored
    raise ImportError("services.predict.batch_fingerprints assumes a little-endian machine")

_DOMAIN = np.frombuffer(_HASH_DOMAIN, dtype=np.uint8)
_SIGNAL_CODES = {signal: code for code, signal in enumerate(SIGNALS)}
_SIGNAL_TABLE = np.frombuffer(b"".join(signal_bytes(s) for s in SIGNALS), dtype=np.uint8)
_SIGNAL_LENGTHS = np.array([len(signal_bytes(s)) for s in SIGNALS], dtype=np.int64)
_SIGNAL_OFFSETS = np.cumsum(_SIGNAL_LENGTHS) - _SIGNAL_LENGTHS
_COUNT_BYTES, _VALUE_BYTES = 4, 8


def batch_sha256(
    windows: Sequence[Window], checked: CheckedBatch, key: bytes | None = None
) -> list[str]:
    """window_sha256(window, key) of every window, in order."""
    exact = checked.stored_exactly.tolist()
    users = [w.user_id if e else "" for w, e in zip(windows, exact, strict=True)]
    text = "".join(users)
    if text.isascii():
        user_bytes, user_lengths = text.encode(), np.fromiter(map(len, users), np.int64, len(users))
    else:
        encoded = [u.encode(errors="surrogatepass") for u in users]
        user_bytes = b"".join(encoded)
        user_lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
    starts_ms = np.fromiter(
        (w.start_ms if e else 0 for w, e in zip(windows, exact, strict=True)), np.int64, len(users)
    )
    codes = np.fromiter(
        (_SIGNAL_CODES[w.signal] if e else 0 for w, e in zip(windows, exact, strict=True)),
        np.int64, len(users),
    )  # fmt: skip
    context_hr, context_rr = checked.context_hr, checked.context_rr
    # a window hashed on its own gets no bytes here (its counts may not fit the matrices)
    lengths = np.where(checked.stored_exactly, _message_lengths(
        user_lengths, checked.hr_counts, checked.rr_counts, _SIGNAL_LENGTHS[codes],
        context_hr.counts, context_rr.counts,
    ), 0)  # fmt: skip
    ends = np.cumsum(lengths)
    buffer = np.empty(int(ends[-1]) if ends.size else 0, dtype=np.uint8)
    _write_messages(
        buffer, ends - lengths, checked.stored_exactly, _DOMAIN,
        np.frombuffer(user_bytes, dtype=np.uint8), np.cumsum(user_lengths) - user_lengths,
        user_lengths, starts_ms.view(np.uint8),
        _bytes_of(checked.hr), checked.hr_counts, _bytes_of(checked.rr), checked.rr_counts,
        _SIGNAL_TABLE, _SIGNAL_OFFSETS[codes], _SIGNAL_LENGTHS[codes],
        _bytes_of(context_hr.flat), context_hr.offsets, context_hr.counts,
        _bytes_of(context_rr.flat), context_rr.offsets, context_rr.counts,
        _CONTEXT_MARK[0],
    )  # fmt: skip
    messages, sha256 = memoryview(buffer), hashlib.sha256
    out = []
    append = out.append
    for window, is_exact, start, end in zip(
        windows, exact, (ends - lengths).tolist(), ends.tolist(), strict=True
    ):
        if not is_exact:
            append(window_sha256(window, key))
        elif key is None:
            append(sha256(messages[start:end]).hexdigest())
        else:
            append(fingerprint(messages[start:end], key))
    return out


def _bytes_of(values: np.ndarray) -> np.ndarray:
    """The float64 values' bytes as stored, one row of bytes per row of values."""
    values = np.ascontiguousarray(values, dtype="<f8")
    return values.view(np.uint8).reshape(values.shape[0], -1) if values.ndim == 2 \
        else values.view(np.uint8)


def _message_lengths(user_lengths, hr_counts, rr_counts, signal_lengths, context_hr_counts,
                     context_rr_counts) -> np.ndarray:
    def series(counts):  # a count, then the values; a missing series is the count 0xFFFFFFFF
        return _COUNT_BYTES + _VALUE_BYTES * np.maximum(counts, 0)

    has_context = (context_hr_counts >= 0) | (context_rr_counts >= 0)
    context = np.where(has_context, 1 + series(context_hr_counts) + series(context_rr_counts), 0)
    return (_DOMAIN.size + user_lengths + 1 + 8 + series(hr_counts) + series(rr_counts)
            + signal_lengths + context)


@compiled
def _put_uint(buffer, at, value, size):
    """A non-negative int64 `value` as a little-endian unsigned integer of `size` bytes."""
    for k in range(size):
        buffer[at + k] = (value >> (8 * k)) & 0xFF
    return at + size


@compiled
def _put_series(buffer, at, value_bytes, first, count):
    """A series as base._values_bytes writes it, or 0xFFFFFFFF when count < 0 (not sent)."""
    if count < 0:
        return _put_uint(buffer, at, 0xFFFFFFFF, 4)
    at = _put_uint(buffer, at, count, 4)
    for k in range(8 * count):
        buffer[at + k] = value_bytes[first + k]
    return at + 8 * count


@compiled
def _write_messages(
    buffer, message_starts, exact, domain, users, user_offsets, user_lengths, starts_ms,
    hr, hr_counts, rr, rr_counts, signal_table, signal_offsets, signal_lengths,
    context_hr, context_hr_offsets, context_hr_counts,
    context_rr, context_rr_offsets, context_rr_counts, context_mark,
):  # fmt: skip
    for w in range(message_starts.size):
        if not exact[w]:
            continue
        at = message_starts[w]
        buffer[at : at + domain.size] = domain
        at += domain.size
        buffer[at : at + user_lengths[w]] = users[user_offsets[w] : user_offsets[w] + user_lengths[w]]
        at += user_lengths[w]
        buffer[at] = 0
        buffer[at + 1 : at + 9] = starts_ms[8 * w : 8 * w + 8]  # int64 LE, as stored
        at += 9
        at = _put_series(buffer, at, hr[w], 0, hr_counts[w])
        at = _put_series(buffer, at, rr[w], 0, rr_counts[w])
        first = signal_offsets[w]
        buffer[at : at + signal_lengths[w]] = signal_table[first : first + signal_lengths[w]]
        at += signal_lengths[w]
        if context_hr_counts[w] >= 0 or context_rr_counts[w] >= 0:
            buffer[at] = context_mark
            at = _put_series(buffer, at + 1, context_hr, 8 * context_hr_offsets[w],
                             context_hr_counts[w])
            at = _put_series(buffer, at, context_rr, 8 * context_rr_offsets[w],
                             context_rr_counts[w])
