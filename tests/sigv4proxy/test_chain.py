"""The proxy never answers from the wrong chain: an upstream is used only after it answered our chain
id, is checked again at every health probe (and in every eth_chainId answer), and is taken out
for every worker at once when it answers another. The wrong chain here is a real node: a second
anvil on chain 1234 behind a recording test upstream. Client calls carry their own ids, so each
test can say exactly which upstream received which call (the proxy's checks use its own id)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from .chain import CHAIN_ID, OTHER_CHAIN_ID, SENDER
from .conftest import MAX_LOG_RANGE, rpc
from .health import metric, upstreams, wait_for_upstreams, wait_until
from .upstream_server import TestUpstream

CLOSE = {"Connection": "close"}  # a new connection per call, so both workers serve some


def _calls(proxy_url: str, first_id: int, count: int) -> list[requests.Response]:
    """`count` concurrent calls, alternately eth_chainId (checked in the answer too) and
    eth_getBalance (nothing in its answer says which chain it came from)."""

    def one(i: int) -> requests.Response:
        if i % 2:
            return rpc(proxy_url, "eth_getBalance", [SENDER, "latest"], first_id + i, headers=CLOSE)
        return rpc(proxy_url, "eth_chainId", [], first_id + i, headers=CLOSE)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_wrong_chain_first_at_start__concurrent_first_calls_never_reach_it(
    start_proxy, anvil, other_chain_anvil
):
    """Upstreams [a node on chain 1234, a node on our chain] and 32 concurrent calls right after
    start, on two workers. Both nodes' answers are held back until the calls are waiting, so no
    upstream is verified when they arrive: none may pass before the checks decide."""
    first_id = 1000
    wrong = TestUpstream(forward_to=other_chain_anvil.url)
    right = TestUpstream(forward_to=anvil.url)
    wrong.gate.clear()
    right.gate.clear()
    try:
        proxy = start_proxy(
            workers=2,
            upstreams=[{"url": wrong.url, "name": "wrong"}, {"url": right.url, "name": "right"}],
        )
        with ThreadPoolExecutor(1) as background:
            pending = background.submit(_calls, proxy.url, first_id, 32)
            wait_until(lambda: wrong.requests, "the wrong node is asked its chain id")
            wrong.gate.set()  # it answers 1234 ...
            wait_until(lambda: right.requests, "the right node is asked its chain id")
            right.gate.set()  # ... and only then does ours answer
            answers = pending.result()
        client_ids = set(range(first_id, first_id + 32))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        chain_ids = {a.json()["result"] for a in answers if a.json()["id"] % 2 == 0}
        assert chain_ids == {hex(CHAIN_ID)}
        assert not client_ids & set(wrong.ids())  # not one call reached the wrong node
        assert client_ids <= set(right.ids())
        assert set(wrong.methods()) == {"eth_chainId"}  # asked its chain id, nothing else
        seen = upstreams(proxy.url)
        assert seen["wrong"] == {
            "name": "wrong",
            "healthy": False,
            "chain": "mismatch",
            "head": None,
        }
        assert seen["right"]["chain"] == "verified"
    finally:
        wrong.stop()
        right.stop()


def test_upstream_changes_chain__out_at_once_everywhere__back_after_repeated_checks(
    start_proxy, anvil, other_chain_anvil
):
    switcher = TestUpstream(forward_to=anvil.url)
    backup = TestUpstream(forward_to=anvil.url)
    try:
        proxy = start_proxy(
            workers=2,
            health_interval_seconds=0.2,
            upstreams=[
                {"url": switcher.url, "name": "switcher"},
                {"url": backup.url, "name": "backup"},
            ],
        )
        wait_for_upstreams(proxy.url, {"switcher": {"healthy": True}, "backup": {"healthy": True}})
        assert rpc(proxy.url, "eth_getBalance", [SENDER, "latest"], 2000).status_code == 200
        assert 2000 in switcher.ids()

        switcher.forward_to = other_chain_anvil.url  # its provider now points at chain 1234
        # An eth_chainId answer is checked as it passes: not one says 1234, even before a probe.
        answers = [rpc(proxy.url, "eth_chainId", [], 2100 + i, headers=CLOSE) for i in range(20)]
        assert [a.json()["result"] for a in answers] == [hex(CHAIN_ID)] * 20

        seen = wait_for_upstreams(proxy.url, {"switcher": {"chain": "mismatch"}})
        assert seen["switcher"]["healthy"] is False and seen["backup"]["healthy"] is True
        health = requests.get(proxy.url + "healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert (
            metric(proxy.url, "pulseledger_proxy_upstream_chain_mismatch", upstream="switcher") == 1
        )
        assert (
            metric(proxy.url, "pulseledger_proxy_upstream_chain_verified", upstream="switcher") == 0
        )
        assert (
            metric(
                proxy.url, "pulseledger_proxy_upstream_chain_mismatches_total", upstream="switcher"
            )
            >= 1
        )

        later = _calls(proxy.url, 2200, 20)
        assert all(a.status_code == 200 for a in later)
        assert not set(range(2200, 2220)) & set(switcher.ids())  # every call went to the backup
        assert set(range(2200, 2220)) <= set(backup.ids())

        switcher.forward_to = anvil.url  # fixed: back in after RECOVERY_CHECKS good probes
        wait_for_upstreams(proxy.url, {"switcher": {"chain": "verified", "healthy": True}})
        assert rpc(proxy.url, "eth_getBalance", [SENDER, "latest"], 2300).status_code == 200
        assert 2300 in switcher.ids()
        assert (
            metric(proxy.url, "pulseledger_proxy_upstream_chain_mismatch", upstream="switcher") == 0
        )
        proxy.stop()
        assert f'"chain_id": {OTHER_CHAIN_ID}' in proxy.logs()  # the operator sees what it served
    finally:
        switcher.stop()
        backup.stop()


def test_get_logs_latest__resolved_on_a_verified_upstream_and_forwarded_as_numbers(
    start_proxy, anvil
):
    """A wrong-chain upstream claiming block 1 is not where `latest` comes from: fromBlock 0x0 to
    latest spans our chain's whole height and is refused; a range that fits is forwarded with
    the numbers it was checked with."""
    wrong = TestUpstream(
        mode="answer", answers={"eth_chainId": hex(OTHER_CHAIN_ID), "eth_blockNumber": "0x1"}
    )
    right = TestUpstream(forward_to=anvil.url)
    requests.post(
        anvil.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "anvil_mine",
            "params": [hex(3 * MAX_LOG_RANGE)],
        },
        timeout=5,
    ).raise_for_status()
    try:
        proxy = start_proxy(
            upstreams=[{"url": wrong.url, "name": "wrong"}, {"url": right.url, "name": "right"}]
        )
        for request_id, log_filter in (
            (3000, {"fromBlock": "0x0"}),
            (3001, {"fromBlock": "0x0", "toBlock": "latest"}),
        ):
            refused = rpc(proxy.url, "eth_getLogs", [log_filter], request_id)
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == -32005
            assert request_id not in wrong.ids() + right.ids()

        head = int(rpc(proxy.url, "eth_blockNumber", [], 3002).json()["result"], 16)
        assert head >= 3 * MAX_LOG_RANGE
        fits = rpc(
            proxy.url, "eth_getLogs", [{"fromBlock": hex(head - 2), "toBlock": "latest"}], 3003
        )
        assert fits.status_code == 200 and fits.json()["result"] == []
        [forwarded] = [c for r in right.requests for c in r["calls"] if c.get("id") == 3003]
        sent = forwarded["params"][0]
        assert sent["fromBlock"] == hex(head - 2)
        assert int(sent["toBlock"], 16) >= head  # a number, the head the bound was checked on
        assert 3003 not in wrong.ids()
    finally:
        wrong.stop()
        right.stop()


def test_only_wrong_chain_upstreams__502_and_unhealthy__no_call_forwarded(start_proxy):
    wrong = TestUpstream(
        mode="answer", answers={"eth_chainId": hex(OTHER_CHAIN_ID), "eth_blockNumber": "0x5"}
    )
    try:
        proxy = start_proxy(upstreams=[{"url": wrong.url, "name": "wrong"}])
        response = rpc(proxy.url, "eth_getBalance", [SENDER, "latest"], 4000)
        assert response.status_code == 502
        assert response.json()["error"] == {"code": -32002, "message": "no upstream available"}
        assert 4000 not in wrong.ids()
        health = requests.get(proxy.url + "healthz", timeout=5)
        assert health.status_code == 503
        assert health.json()["upstreams"][0]["chain"] == "mismatch"
    finally:
        wrong.stop()


def test_first_upstream_failing_its_check__waiting_requests_do_not_each_check_again(
    start_proxy, anvil
):
    """A first upstream whose chain check is held, then fails: the concurrent first requests
    wait for the one check in progress in their worker, then go on to the next upstream. They do
    not each check it again, one after another (with a silent upstream, each such check would
    cost its whole timeout and the requests their deadlines)."""
    released = threading.Event()

    def held_then_busy(headers, call):
        released.wait(30)
        return 503, b"busy"

    failing = TestUpstream(mode="reply", reply=held_then_busy)
    right = TestUpstream(forward_to=anvil.url)
    right.gate.clear()  # nothing is verified when the requests arrive
    try:
        proxy = start_proxy(
            upstreams=[{"url": failing.url, "name": "failing"}, {"url": right.url, "name": "right"}]
        )
        with ThreadPoolExecutor(1) as background:
            pending = background.submit(_calls, proxy.url, 7000, 8)
            # The worker's probe and the first request's check are both held there.
            wait_until(lambda: len(failing.requests) >= 2, "two checks reach the failing node")
            released.set()
            right.gate.set()
            answers = pending.result()
        assert [a.status_code for a in answers] == [200] * 8
        assert set(range(7000, 7008)) <= set(right.ids())
        assert not set(range(7000, 7008)) & set(failing.ids())
        assert len(failing.requests) <= 3, failing.ids()  # not one check per waiting request
    finally:
        released.set()
        right.gate.set()
        failing.stop()
        right.stop()
