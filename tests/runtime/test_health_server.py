"""The shared /healthz and /metrics server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading

import pytest
import requests
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.health_server import (
    HealthServer,
    counters_metrics,
    json_health,
    prometheus_text,
    registry_metrics,
    text_health,
)


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs) -> str:
        server = HealthServer(0, **kwargs).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        server.stop()


def test_healthz__follows_the_registered_check(serve):
    ready = threading.Event()
    url = serve(health=lambda: text_health(ready.is_set()),
                metrics=counters_metrics(dict, "x"))
    starting = requests.get(url + "/healthz", timeout=5)
    assert (starting.status_code, starting.text) == (503, "starting\n")
    ready.set()
    ok = requests.get(url + "/healthz", timeout=5)
    assert (ok.status_code, ok.text) == (200, "ok\n")


def test_healthz__json_body(serve):
    url = serve(health=lambda: json_health(503, {"status": "degraded", "lag": 3}),
                metrics=counters_metrics(dict, "x"))
    reply = requests.get(url + "/healthz", timeout=5)
    assert reply.status_code == 503
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {"status": "degraded", "lag": 3}


def test_metrics__counters_read_at_scrape_time(serve):
    counters = {"readings_total": 1, 'sent{kind="email"}': 2, "name": "not a number",
                "flag": True}
    url = serve(health=lambda: text_health(True),
                metrics=counters_metrics(lambda: counters, "pulseledger_test"))
    counters["readings_total"] = 5
    text = requests.get(url + "/metrics", timeout=5).text
    samples = {(s.name, tuple(s.labels.items())): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples == {("pulseledger_test_readings_total", ()): 5.0,
                       ("pulseledger_test_sent", (("kind", "email"),)): 2.0}


def test_metrics__a_prometheus_registry(serve):
    registry = CollectorRegistry()
    sealed = Counter("pulseledger_test_sealed", "sealed", registry=registry)
    sealed.inc(3)
    url = serve(health=lambda: text_health(True), metrics=registry_metrics(registry),
                one_scrape_at_a_time=True)
    text = requests.get(url + "/metrics", timeout=5).text
    assert "pulseledger_test_sealed_total 3.0" in text


def test_other_paths__not_found(serve):
    url = serve(health=lambda: text_health(True), metrics=counters_metrics(dict, "x"))
    assert requests.get(url + "/", timeout=5).status_code == 404
    assert requests.get(url + "/healthz/extra", timeout=5).status_code == 404


def test_binds_loopback_only():
    server = HealthServer(0, health=lambda: text_health(True),
                          metrics=counters_metrics(dict, "x")).start()
    try:
        assert server.server.server_address[0] == "127.0.0.1"
    finally:
        server.stop()


def test_prometheus_text__types_each_family_once():
    text = prometheus_text({'a_total{k="1"}': 1, 'a_total{k="2"}': 2, "b": 0.5}, "p")
    assert text.splitlines() == ["# TYPE p_a_total counter", 'p_a_total{k="1"} 1',
                                 'p_a_total{k="2"} 2', "# TYPE p_b gauge", "p_b 0.5"]
