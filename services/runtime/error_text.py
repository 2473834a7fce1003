"""What went wrong, in one log line: exception groups (a nursery that failed) flattened to the
errors inside them, each named by its type. A retry loop that logged `str(exc)` said
"Exceptions from Trio nursery (1 sub-exception)" for a prediction call that failed inside a
nursery, and a bare "storage" for `NoPeerForRole("storage")`; neither told an operator what
was wrong."""

from __future__ import annotations


def describe(error: BaseException, limit: int = 160) -> str:
    """`Type: message` for each error inside `error` (itself, unless it is a group), joined."""
    text = "; ".join(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                     for e in _leaves(error))
    return text[:limit]


def _leaves(error: BaseException):
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error
