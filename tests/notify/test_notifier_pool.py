"""The notifier pool (services/notify/pool.py) against a real SMTP server (aiosmtpd on
127.0.0.1) whose handler holds each message until it is let go: how many sends the server sees
at once is then counted, not timed."""

from __future__ import annotations

import asyncio
import threading

import pytest
from pulseledger_testkit.smtp_server import CapturingHandler, SmtpServer

from services.notify import Email, NotifierUnavailable, NotifySettings
from services.notify.pool import NotifierPool
from services.notify.smtp import SmtpNotifier

WAIT_S = 10.0  # a deadline for a test that fails, never reached by one that passes


class HoldingHandler(CapturingHandler):
    """Keeps every message's DATA waiting until `release` is set; counts those waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0
        self.most_at_once = 0
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.waiting += 1
            self.most_at_once = max(self.most_at_once, self.waiting)
        self.arrived.release()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, WAIT_S)
        with self.lock:
            self.waiting -= 1
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_server():
    server = SmtpServer()
    server.handler = HoldingHandler()
    server.start()
    yield server
    server.handler.release.set()
    server.stop()


def smtp_pool(server: SmtpServer, size: int) -> NotifierPool:
    settings = NotifySettings(backend="smtp", smtp_host="127.0.0.1", smtp_port=server.port,
                              smtp_security="none", smtp_timeout_s=WAIT_S)
    return NotifierPool(lambda: SmtpNotifier(settings), size)


def send_from_threads(pool: NotifierPool, count: int) -> list[threading.Thread]:
    def send(index: int) -> None:
        with pool.borrowed() as notifier:
            notifier.send(Email((f"to{index}@example.org",), "Confirm", "A link.", None,
                                f"<m{index}@pulseledger.invalid>"))

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def test_pool__sends_of_several_threads_reach_the_server_at_once__up_to_its_size(holding_server):
    handler = holding_server.handler
    pool = smtp_pool(holding_server, size=2)
    threads = send_from_threads(pool, 3)
    # two are held at the server together; the third waits for a notifier, not for the server
    assert handler.arrived.acquire(timeout=WAIT_S) and handler.arrived.acquire(timeout=WAIT_S)
    assert not handler.arrived.acquire(timeout=0.3)
    handler.release.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert handler.most_at_once == 2
    assert sorted(r.rcpt_tos[0] for r in holding_server.received) == [
        "to0@example.org", "to1@example.org", "to2@example.org"]
    pool.close()


def test_pool_of_one__one_send_at_a_time(holding_server):
    handler = holding_server.handler
    pool = smtp_pool(holding_server, size=1)
    threads = send_from_threads(pool, 2)
    assert handler.arrived.acquire(timeout=WAIT_S)
    assert not handler.arrived.acquire(timeout=0.3)  # the second thread waits for the first
    handler.release.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert handler.most_at_once == 1 and len(holding_server.received) == 2
    pool.close()


def test_pool__a_notifier_that_fails_to_open_frees_its_place():
    opened = []

    def open_one():
        if not opened:
            opened.append("failed")
            raise OSError("no mail server")
        notifier = object.__new__(SmtpNotifier)
        opened.append(notifier)
        return notifier

    pool = NotifierPool(open_one, 1)
    with pytest.raises(OSError), pool.borrowed():
        pass
    with pool.borrowed() as notifier:  # the failed open did not keep the only place
        assert notifier is opened[1]


def test_pool__closed__refuses_to_lend_and_closes_what_comes_back():
    closed = []

    class Recording:
        def send(self, email) -> None:
            pass

        def close(self) -> None:
            closed.append(self)

    pool = NotifierPool(Recording, 2)
    with pool.borrowed() as lent:
        with pool.borrowed():
            pass  # one idle after this
        pool.close()
        assert len(closed) == 1  # the idle one, at once
    assert closed[1] is lent  # the borrowed one, when it came back
    with pytest.raises(RuntimeError, match="closed"), pool.borrowed():
        pass


def test_pool__no_sender_free_within_its_wait__unavailable(holding_server):
    """A request waits for a sender only so long, then fails as an unavailable mail system does
    (the gateway answers 503: try again shortly)."""
    handler = holding_server.handler
    pool = smtp_pool(holding_server, size=1)
    pool.wait_s = 0.2
    [thread] = send_from_threads(pool, 1)
    assert handler.arrived.acquire(timeout=WAIT_S)  # the only sender is busy at the server
    with pytest.raises(NotifierUnavailable, match="busy"), pool.borrowed():
        pass
    handler.release.set()
    thread.join(WAIT_S)
    with pool.borrowed():  # free again once the send is done
        pass
    pool.close()
