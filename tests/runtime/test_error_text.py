"""Retry loops log what went wrong (services/runtime/error_text.py), not a nursery's wrapper."""

import trio

from services.peers.node import NoPeerForRole
from services.peers.rpc import PeerUnavailable
from services.runtime.error_text import describe


def test_a_failed_nursery__names_each_error_inside_it_by_type():
    async def fails(error):
        raise error

    async def main():
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(fails, PeerUnavailable("…a1b2c3: not admitted"))
                nursery.start_soon(fails, NoPeerForRole("storage"))
        except BaseExceptionGroup as group:
            return group

    group = trio.run(main)
    assert str(group).startswith("Exceptions from Trio nursery")  # what the log used to say
    assert set(describe(group).split("; ")) == {"PeerUnavailable: …a1b2c3: not admitted",
                                                 "NoPeerForRole: storage"}


def test_a_plain_error__its_type_and_message__cut_to_the_limit():
    assert describe(NoPeerForRole("storage")) == "NoPeerForRole: storage"
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ValueError("x" * 500), limit=20) == "ValueError: " + "x" * 8
