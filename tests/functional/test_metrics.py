"""GET /metrics: parses as Prometheus text, reflects the stored state, admin only, off
unless [metrics] enabled; the engine's counters from the clients layer."""

import datetime
import threading
import time
import uuid

import pytest
import webob
from prometheus_client import parser

from multisite import metrics
from multisite.api import app as api_app
from multisite.objects import events, quotas, regions

ADMIN = {"X-Project-Id": uuid.uuid4().hex, "X-User-Id": "op", "X-Roles": "admin"}


def scrape(app, headers=ADMIN):
    resp = webob.Request.blank("/metrics", headers=headers).get_response(app)
    return resp


def samples(text):
    out = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.fixture
def enabled(db):
    db.set_override("enabled", True, group="metrics")
    yield db
    db.clear_override("enabled", group="metrics")


def test_disabled_by_default(db):
    app = api_app.build_app(db)
    resp = scrape(app)
    assert resp.status_int == 404 and resp.json["error"]["code"] == "request.not_found"


def test_scrape_reflects_the_stored_state(enabled):
    conf = enabled
    now = regions.utcnow()
    regions.save_probe(conf, "RegionOne", [
        {"service": "compute", "reachable": False, "latency_ms": 12.0, "failures": 3},
        {"service": "identity", "reachable": True, "latency_ms": 4.0, "failures": 0}])
    regions.save_capacity(conf, "RegionOne", "compute", figures={"vcpus": 8},
                          error=None, now=now - datetime.timedelta(seconds=60))
    quotas.update(conf, uuid.uuid4().hex, {"cores": 4})
    events.store(conf, [{"message_id": "m1", "event_type": "x.y", "payload": {}}])
    app = api_app.build_app(conf)
    resp = scrape(app)
    assert resp.status_int == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(resp.text)
    one = (("region", "RegionOne"), ("service", "compute"))
    assert found[("multisite_region_service_up", one)] == 0.0
    assert found[("multisite_region_service_up", (("region", "RegionOne"),
                                                   ("service", "identity")))] == 1.0
    assert found[("multisite_region_service_consecutive_failures", one)] == 3
    assert found[("multisite_region_service_probe_latency_seconds", one)] == 0.012
    assert found[("multisite_capacity", (("figure", "vcpus"), ("kind", "compute"),
                                         ("region", "RegionOne")))] == 8
    age = found[("multisite_capacity_age_seconds", (("kind", "compute"),
                                                    ("region", "RegionOne")))]
    assert 60 <= age < 120
    assert found[("multisite_events_last_id", ())] == 1
    member = dict(ADMIN, **{"X-Roles": "member"})
    assert scrape(app, member).status_int == 403


def test_stored_state_is_read_once_per_ttl(enabled):
    """The database-derived gauges are cached for [metrics] state_cache_seconds; the
    process's own counters are current on every scrape."""
    conf = enabled
    regions.save_probe(conf, "RegionOne", [{"service": "compute", "reachable": True}])
    app = api_app.build_app(conf)
    up = ("multisite_region_service_up", (("region", "RegionOne"), ("service", "compute")))
    calls = ("multisite_region_call_seconds_count", (("operation", "ttl"),
                                                     ("region", "RegionTtl"),
                                                     ("service", "compute")))
    assert samples(scrape(app).text)[up] == 1.0
    regions.save_probe(conf, "RegionOne", [{"service": "compute", "reachable": False,
                                            "failures": 1}])
    metrics.region_call("RegionTtl", "compute", "ttl", 0.01)
    found = samples(scrape(app).text)
    assert found[up] == 1.0                   # within the TTL: the text read before
    assert found[calls] == 1.0                # but the process's counters are current
    conf.set_override("state_cache_seconds", 0, group="metrics")
    try:
        assert samples(scrape(app).text)[up] == 0.0
    finally:
        conf.clear_override("state_cache_seconds", group="metrics")


def test_region_call_counters_by_region_service_and_outcome():
    before = samples(metrics.prometheus_text())
    metrics.region_call("RX", "nova", "GET", 0.02, status=200)
    metrics.region_call("RX", "nova", "GET", 5.0, error=True)
    metrics.region_call("RX", "nova", "PUT", 0.1, status=503)
    after = samples(metrics.prometheus_text())

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("multisite_region_call_seconds_count", region="RX", service="nova",
                 operation="GET") == 2
    assert delta("multisite_region_call_errors_total", region="RX", service="nova",
                 operation="GET", reason="unreachable") == 1
    assert delta("multisite_region_call_errors_total", region="RX", service="nova",
                 operation="PUT", reason="5xx") == 1


def test_label_values_are_escaped(enabled):
    odd = 'Region "A"\\B'
    regions.save_probe(enabled, odd, [{"service": "compute", "reachable": True}])
    resp = scrape(api_app.build_app(enabled))
    found = samples(resp.text)
    assert found[("multisite_region_service_up", (("region", odd), ("service", "compute")))] == 1


def test_the_stored_state_is_read_ahead_while_scrapes_come(enabled, monkeypatch):
    """After the first scrape a thread reads the state every TTL: a later scrape, even
    long after the TTL, is answered from text read in the background."""
    from multisite.api.handlers import metrics as handler

    conf = enabled
    conf.set_override("state_cache_seconds", 0.2, group="metrics")
    readers = []
    real_read = handler._read_state

    def counting_read(conf):
        readers.append(threading.current_thread().name)
        return real_read(conf)

    monkeypatch.setattr(handler, "_read_state", counting_read)
    try:
        regions.save_probe(conf, "RegionAhead", [{"service": "compute", "reachable": True}])
        app = api_app.build_app(conf)
        up = ("multisite_region_service_up", (("region", "RegionAhead"),
                                              ("service", "compute")))
        assert samples(scrape(app).text)[up] == 1.0
        regions.save_probe(conf, "RegionAhead", [{"service": "compute", "reachable": False,
                                                  "failures": 1}])
        deadline = time.monotonic() + 30
        while readers.count("metrics-refresh") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert samples(scrape(app).text)[up] == 0.0   # read ahead, not by this scrape
        assert readers[0] != "metrics-refresh"          # the first scrape read it itself
        assert readers.count("metrics-refresh") >= 2
        assert [r for r in readers if r != "metrics-refresh"] == readers[:1]
    finally:
        conf.clear_override("state_cache_seconds", group="metrics")
        handler._cache.update(key=None, until=0.0)
