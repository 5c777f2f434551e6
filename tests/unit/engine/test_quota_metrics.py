"""The quota kind's passes on the engine's metrics listener: duration, projects by result,
region errors and writes, the periodic pass; labels bounded (no project ids)."""

import socket
import urllib.request
import uuid

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from multisite import metrics
from multisite.objects import quotas

R1, R2 = "RegionOne", "RegionTwo"


def _value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def project(db):
    project_id = uuid.uuid4().hex
    quotas.update(db, project_id, {"volumes": 10})
    return project_id


def test_a_project_pass_is_counted_with_its_region_errors(make_manager, cloud, project):
    manager = make_manager()
    before = {
        "ok": _value("multisite_quota_projects_total", reason="on-demand", result="ok"),
        "partial": _value("multisite_quota_projects_total", reason="on-demand",
                          result="partial"),
        "count": _value("multisite_quota_project_seconds_count", reason="on-demand"),
        "r2_read": _value("multisite_quota_region_errors_total", region=R2,
                          operation="read"),
        "writes": {r: _value("multisite_quota_region_writes_total", region=r)
                   for r in cloud.services},
    }
    first = manager.submit(project, reason="on-demand").result(timeout=30)
    cloud.down.add(R2)
    cloud.set_usage(R1, project, volumes=1)
    second = manager.submit(project, reason="on-demand").result(timeout=30)
    assert first["failed"] == [] and second["failed"] == [R2]
    assert _value("multisite_quota_projects_total", reason="on-demand",
                  result="ok") == before["ok"] + 1
    assert _value("multisite_quota_projects_total", reason="on-demand",
                  result="partial") == before["partial"] + 1
    assert _value("multisite_quota_project_seconds_count",
                  reason="on-demand") == before["count"] + 2
    assert _value("multisite_quota_region_errors_total", region=R2,
                  operation="read") == before["r2_read"] + 1
    assert second["written"]             # R1's usage changed: limits were rebalanced
    for region in cloud.services:
        assert _value("multisite_quota_region_writes_total", region=region) == (
            before["writes"][region] + sum(region in s["written"] for s in (first, second)))


def test_the_periodic_pass_is_measured(db, make_manager, cloud, project):
    manager = make_manager()
    count = _value("multisite_quota_periodic_pass_seconds_count")
    summary = manager.run_periodic()
    assert summary["projects"] >= 1
    assert _value("multisite_quota_periodic_pass_seconds_count") == count + 1
    assert _value("multisite_quota_periodic_pass_projects",
                  outcome="queued") == summary["projects"]
    assert _value("multisite_quota_periodic_pass_projects",
                  outcome="synced") == summary["synced"]


def test_served_by_the_engine_listener_with_bounded_labels(conf, make_manager, cloud,
                                                           project):
    make_manager().submit(project, reason="on-demand").result(timeout=30)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf.set_override("engine_port", port, group="metrics")
    server = metrics.serve(conf)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    finally:
        server.shutdown()
        conf.clear_override("engine_port", group="metrics")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in ("multisite_quota_project_seconds", "multisite_quota_projects",
                 "multisite_quota_region_writes", "multisite_quota_periodic_pass_seconds"):
        assert name in families, name
    for family in families.values():
        if family.name.startswith("multisite_quota"):
            for sample in family.samples:
                assert project not in str(sample.labels)
                assert set(sample.labels) <= {"reason", "result", "region", "operation",
                                              "outcome", "le"}
