"""Waiting on a proxy's own report of its upstreams (/healthz), and reading its metrics."""

import re
import time

import requests


def upstreams(proxy_url: str) -> dict[str, dict]:
    body = requests.get(proxy_url + "healthz", timeout=5).json()
    return {u["name"]: u for u in body["upstreams"]}


def wait_for_upstreams(proxy_url: str, expected: dict[str, dict], seconds: float = 20) -> dict:
    """Polls /healthz until every named upstream shows the expected fields (e.g. {"chain":
    "mismatch"}); returns what it last saw. A bounded wait for an event, never a timing check."""
    deadline = time.monotonic() + seconds
    while True:
        seen = upstreams(proxy_url)
        if all(
            all(seen[name].get(k) == v for k, v in fields.items())
            for name, fields in expected.items()
        ):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"upstreams never became {expected}: {seen}")
        time.sleep(0.05)


def metric(proxy_url: str, name: str, **labels) -> float | None:
    """The value of one sample on /metrics, or None when it is not there."""
    text = requests.get(proxy_url + "metrics", timeout=5).text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match and match.group(1) == name:
            found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
            if found == wanted:
                return float(match.group(3))
    return None


def wait_until(predicate, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.02)
