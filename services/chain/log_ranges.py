"""Log reads over long block spans, in pieces a node or our proxy accepts.

Our SigV4 proxy (and most hosted nodes) refuse an `eth_getLogs` whose range spans more than a
bound (the proxy's `max_log_block_range`, 2,000 by default); a service that asked for
deployment → latest in one call worked on a local anvil and failed behind the proxy once the chain
was longer than that. Every span-wide log read goes through `log_ranges` (in pieces of
`ChainSettings.log_block_range` blocks) or `chunked_logs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def log_ranges(from_block: int, to_block: int, span: int, *,
               newest_first: bool = False) -> Iterator[tuple[int, int]]:
    """(from, to) pieces, both ends inclusive, of at most `span` blocks covering
    from_block..to_block once; none when the range is empty."""
    if span < 1:
        raise ValueError("a log range spans at least one block")
    if newest_first:
        end = to_block
        while end >= from_block:
            start = max(from_block, end - span + 1)
            yield start, end
            end = start - 1
        return
    start = from_block
    while start <= to_block:
        end = min(to_block, start + span - 1)
        yield start, end
        start = end + 1


def chunked_logs(fetch: Callable[[int, int], list[T]], from_block: int, to_block: int,
                 span: int) -> list[T]:
    """Every log `fetch(from, to)` returns over from_block..to_block, oldest piece first (each
    piece's logs in the node's order: block, then log index)."""
    found: list[T] = []
    for start, end in log_ranges(from_block, to_block, span):
        found.extend(fetch(start, end))
    return found


def contract_event_logs(event: Any, from_block: int, to_block: int, span: int,
                        argument_filters: dict[str, Any] | None = None) -> list[Any]:
    """web3 `ContractEvent.get_logs` over a long span, in pieces (see the module docstring)."""
    return chunked_logs(lambda start, end: list(event.get_logs(
        from_block=start, to_block=end, argument_filters=argument_filters or {})),
        from_block, to_block, span)
