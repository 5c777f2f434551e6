"""Region health: the pure plan (transitions -> events), probe parsing, the capacity view."""

import datetime

import pytest

from multisite.clients import health
from multisite.objects import regions
from multisite.reconcilers import region_health

NOW = datetime.datetime(2026, 12, 3, 9, 0, 0)
EARLIER = NOW - datetime.timedelta(seconds=30)


def result(reachable, error=None):
    return {"reachable": reachable, "version": "2.1" if reachable else None,
            "latency_ms": 5.0, "error": error, "services": None}


def row(reachable, failures=0):
    return {"reachable": reachable, "failures": failures, "version": "2.1",
            "changed_at": EARLIER}


@pytest.mark.parametrize("before, now_up, events, failures, changed", [
    (None, True, [], 0, True),                       # first probe, healthy: no event
    (None, False, ["region.down"], 1, True),         # first probe, down: reported
    (row(True), True, [], 0, False),                 # steady up: nothing
    (row(True), False, ["region.down"], 1, True),    # up -> down
    (row(False, 3), False, [], 4, False),            # steady down: counted, no new event
    (row(False, 3), True, ["region.up"], 0, True),   # down -> up
])
def test_transitions(before, now_up, events, failures, changed):
    previous = {"compute": before} if before else {}
    plan = region_health.plan("R1", previous, {"compute": result(now_up, "boom")}, now=NOW)
    assert [e["event_type"] for e in plan.events] == events
    (new,) = plan.rows
    assert new["failures"] == failures
    assert new["changed_at"] == (NOW if changed else EARLIER)
    assert new["probed_at"] == NOW
    for event in plan.events:
        assert event["region"] == "R1" and event["resource_id"] == "R1/compute"
        assert event["payload"]["service"] == "compute"
        assert event["origin"] == "multisite"


def test_services_leaving_the_catalog_are_forgotten_and_versions_kept():
    previous = {"compute": row(True), "image": row(True)}
    plan = region_health.plan("R1", previous, {"compute": result(False)}, now=NOW)
    assert plan.forget == ["image"]
    assert plan.rows[0]["version"] == "2.1"      # last known version kept while down


def test_region_status():
    assert regions.region_status({}) == "unknown"
    assert regions.region_status({"a": {"reachable": True}}) == "up"
    assert regions.region_status({"a": {"reachable": True}, "b": {"reachable": False}}) \
        == "degraded"
    assert regions.region_status({"a": {"reachable": False}}) == "down"


@pytest.mark.parametrize("body, version", [
    ({"version": {"id": "v2.1", "version": "2.104", "status": "CURRENT"}}, "2.104"),
    ({"version": {"id": "v3.14", "status": "stable"}}, "v3.14"),
    ({"versions": [{"id": "v3.0", "status": "CURRENT", "version": "3.71"}]}, "3.71"),
    ({"versions": [{"id": "v2.15", "status": "SUPPORTED"},
                   {"id": "v2.17", "status": "CURRENT"}]}, "v2.17"),
    ({"versions": {"values": [{"id": "v3.14", "status": "stable"}]}}, "v3.14"),
    ({"nothing": 1}, None), ([], None),
])
def test_parse_version(body, version):
    assert health.parse_version(body) == version


def test_version_and_status_urls():
    assert health.version_url("volume", "http://h:8776/v3/abc") == "http://h:8776/"
    assert health.version_url("network", "http://h:9696") == "http://h:9696/"
    assert health.version_url("compute", "http://h:8774/v2.1") == "http://h:8774/v2.1"
    assert health.status_url("network", "http://h:9696") == "http://h:9696/v2.0/agents"
    assert health.status_url("network", "http://h/v2.0") == "http://h/v2.0/agents"
    assert health.status_url("image", "http://h:9292") is None


def test_summaries():
    services = {"services": [{"status": "enabled", "state": "up"},
                             {"status": "enabled", "state": "down"},
                             {"status": "disabled", "state": "up"}]}
    assert health.summarize("compute", services) == {"up": 1, "down": 1, "disabled": 1,
                                                     "total": 3}
    agents = {"agents": [{"alive": True, "admin_state_up": True},
                         {"alive": False, "admin_state_up": False}]}
    assert health.summarize("network", agents) == {"up": 1, "down": 0, "disabled": 1,
                                                   "total": 2}


def test_catalog_endpoints_keep_public_and_preferred_types():
    catalog = [
        {"type": "identity", "endpoints": [
            {"interface": "public", "region_id": "A", "url": "http://k/v3/"},
            {"interface": "admin", "region_id": "B", "url": "http://k/v3"}]},
        {"type": "volumev2", "endpoints": [
            {"interface": "public", "region_id": "A", "url": "http://a/v2"}]},
        {"type": "block-storage", "endpoints": [
            {"interface": "public", "region_id": "A", "url": "http://a/v3"}]},
        {"type": "metric", "endpoints": [
            {"interface": "public", "region_id": "A", "url": "http://a/m"}]},
    ]
    assert health.endpoints(catalog) == {"A": {"identity": "http://k/v3",
                                               "volume": "http://a/v3"}}


def test_capacity_view_sums_known_figures_and_marks_stale_ones():
    by_region = {
        "A": {"compute": {"figures": {"vcpus": 8, "vcpus_used": 2}, "collected_at": EARLIER,
                          "error": None, "error_at": None}},
        "B": {"compute": {"figures": {"vcpus": 4, "vcpus_used": 4}, "collected_at": EARLIER,
                          "error": "B: down", "error_at": NOW},
              "volume": {"figures": None, "collected_at": None, "error": "B: timeout",
                         "error_at": NOW}},
    }
    view = regions.capacity_view(by_region, now=NOW)
    assert view["total"] == {"compute": {"regions_counted": 2, "vcpus": 12, "vcpus_used": 6}}
    b = view["regions"][1]
    assert b["name"] == "B"
    assert b["compute"]["stale"] and b["compute"]["figures"] == {"vcpus": 4, "vcpus_used": 4}
    assert b["compute"]["age_seconds"] == 30.0
    assert b["volume"]["figures"] is None and b["volume"]["age_seconds"] is None
