"""The quota manager against an in-memory cloud and a real (SQLite) database."""

import threading
import time
import uuid

import pytest

from multisite.objects import quota_classes, quota_settings, quotas, services, sync_status
from multisite.reconcilers import quota as quota_plan
from tests.unit.engine import fake_cloud

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"


@pytest.fixture
def project(db):
    project_id = uuid.uuid4().hex
    quotas.update(db, project_id, {"volumes": 10, "network": 10, "port": 20})
    return project_id


def test_kingbird_policy_writes_the_formula(make_manager, cloud, project):
    cloud.set_usage(R1, project, volumes=3, port=5)
    cloud.set_usage(R2, project, volumes=2, network=1)
    summary = make_manager().sync_project(project)
    assert summary["failed"] == []
    assert [cloud.region_limits(r, project)["volumes"] for r in (R1, R2, R3)] == [8, 7, 5]
    assert [cloud.region_limits(r, project)["network"] for r in (R1, R2, R3)] == [9, 10, 9]
    assert [cloud.region_limits(r, project)["port"] for r in (R1, R2, R3)] == [20, 15, 15]
    # defaults apply to resources the project has no own limit for (default class)
    assert cloud.region_limits(R1, project)["cores"] == 20
    # metadata_items / key_pairs are per-item: the global value in every region
    assert cloud.region_limits(R2, project)["key_pairs"] == 100


def test_second_pass_writes_nothing(make_manager, cloud, project):
    manager = make_manager()
    cloud.set_usage(R1, project, volumes=3)
    manager.sync_project(project)
    writes = len(cloud.writes)
    summary = manager.sync_project(project)
    assert summary["written"] == {} and len(cloud.writes) == writes


def test_default_quota_class_is_honoured(db, make_manager, cloud, project):
    quota_classes.update(db, "default", {"cores": 7})
    make_manager().sync_project(project)
    assert cloud.region_limits(R3, project)["cores"] == 7


def test_strict_policy_per_project(db, make_manager, cloud, project):
    quota_settings.update(db, project, {"quota_policy": "strict"})
    cloud.set_usage(R1, project, volumes=3)
    cloud.set_usage(R2, project, volumes=2)
    make_manager().sync_project(project)
    got = [cloud.region_limits(r, project)["volumes"] for r in (R1, R2, R3)]
    assert got == [5, 4, 1] and sum(got) == 10


def test_strict_policy_globally(db, make_manager, cloud, project):
    db.set_override("quota_policy", "strict")
    try:
        make_manager().sync_project(project)
    finally:
        db.clear_override("quota_policy")
    assert sum(cloud.region_limits(r, project)["port"] for r in (R1, R2, R3)) == 20


def test_region_down_does_not_stop_the_others(db, make_manager, cloud, project):
    manager = make_manager()
    cloud.set_usage(R2, project, volumes=4)
    manager.sync_project(project)                 # R2's usage is now known
    cloud.down.add(R2)
    cloud.set_usage(R1, project, volumes=1)
    summary = manager.sync_project(project)
    assert summary["failed"] == [R2]
    # R2's last known usage (4) still counts: 10 - 5 + 1 = 6
    assert cloud.region_limits(R1, project)["volumes"] == 6
    assert cloud.region_limits(R3, project)["volumes"] == 5
    rows = {row["region"]: row for row in sync_status.list_for_project(db, project)}
    assert rows[R2]["status"] == sync_status.FAILED
    assert rows[R2]["consecutive_failures"] == 1 and "connection refused" in rows[R2]["error"]
    assert rows[R2]["next_attempt_at"] and rows[R2]["usage_at"]
    assert rows[R1]["status"] == sync_status.OK


def test_backoff_skips_failing_region_in_periodic_passes(db, make_manager, cloud, project):
    manager = make_manager()
    cloud.down.add(R2)
    manager.sync_project(project, periodic=True)
    reads = cloud.calls[(R2, "read")]
    summary = manager.sync_project(project, periodic=True)
    assert summary["waiting"] == [R2] and cloud.calls[(R2, "read")] == reads
    cloud.down.clear()
    summary = manager.sync_project(project)       # on demand: tried despite backoff
    assert summary["failed"] == [] and cloud.region_limits(R2, project)["volumes"] == 10
    rows = {row["region"]: row for row in sync_status.list_for_project(db, project)}
    assert rows[R2]["status"] == sync_status.OK and rows[R2]["consecutive_failures"] == 0


def test_failures_back_off_exponentially(db, make_manager, cloud, project):
    manager = make_manager()
    cloud.down.add(R3)
    for _ in range(3):
        manager.sync_project(project)
    state = sync_status.states(db, project)[R3]
    assert state["failures"] == 3
    wait = (state["next_attempt_at"] - sync_status.models.utcnow()).total_seconds()
    expected = quota_plan.backoff(3, base=db.scheduler.region_backoff_base,
                                  cap=db.scheduler.region_backoff_max)
    assert expected - 5 < wait <= expected


def test_missing_service_is_skipped(db, make_manager, project):
    cloud = fake_cloud.FakeCloud()
    cloud.services[R3] = ("nova", "neutron")      # no cinder in RegionThree
    make_manager(with_cloud=cloud).sync_project(project)
    assert "volumes" not in cloud.region_limits(R3, project)
    assert cloud.region_limits(R3, project)["network"] == 10


def test_nova_network_keys_only_without_neutron(db, make_manager, project):
    cloud = fake_cloud.FakeCloud()
    cloud.services[R3] = ("nova", "cinder")       # a nova-network region
    quotas.update(db, project, {"security_groups": 4})
    make_manager(with_cloud=cloud).sync_project(project)
    assert cloud.region_limits(R3, project)["security_groups"] == 4
    assert "security_groups" not in cloud.region_limits(R1, project)


def test_detail_sums_reachable_regions_and_names_the_others(make_manager, cloud, project):
    cloud.set_usage(R1, project, volumes=2, port=1)
    cloud.set_usage(R3, project, volumes=5)
    cloud.down.add(R2)
    result = make_manager().get_total_usage_for_tenant(None, project)
    assert result["usage"]["volumes"] == 7 and result["usage"]["port"] == 1
    assert result["usage"]["ram"] == 0 and set(result["usage"]) == set(result["limits"])
    assert result["unreachable_regions"] == [R2]
    assert result["limits"]["volumes"] == 10


def test_projects_to_sync_opt_in_and_out(db, make_manager, cloud, project):
    other, opted_in = uuid.uuid4().hex, uuid.uuid4().hex
    quotas.update(db, other, {"ram": 1})
    quota_settings.update(db, opted_in, {"quota_sync": True})
    quota_settings.update(db, other, {"quota_sync": False})
    manager = make_manager()
    assert manager.projects_to_sync() == sorted([project, opted_in])
    cloud.projects_list = ["keystone-a", "keystone-b", other]
    db.set_override("sync_all_projects", True, group="scheduler")
    try:
        assert manager.projects_to_sync() == sorted(["keystone-a", "keystone-b", opted_in])
    finally:
        db.clear_override("sync_all_projects", group="scheduler")


class _Tracker:
    """Wraps sync_project to see every project's passes, across managers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = set()
        self.overlaps = []
        self.done = []
        self.peak = 0       # the most projects running at once

    def wrap(self, manager):
        inner = manager.sync_project

        def tracked(project_id, **kwargs):
            with self.lock:
                if project_id in self.running:
                    self.overlaps.append(project_id)
                self.running.add(project_id)
                self.peak = max(self.peak, len(self.running))
            try:
                return inner(project_id, **kwargs)
            finally:
                with self.lock:
                    self.running.discard(project_id)
                    self.done.append((manager.engine_id, project_id))

        manager.sync_project = tracked


def test_batch_size_runs_projects_concurrently(db, make_manager):
    cloud = fake_cloud.FakeCloud(delay=0.2)
    projects = [uuid.uuid4().hex for _ in range(12)]
    for p in projects:
        quotas.update(db, p, {"volumes": 5})
    db.set_override("batch_size", 6, group="batch")
    try:
        manager = make_manager(with_cloud=cloud, coordinated=True)
        tracker = _Tracker()
        tracker.wrap(manager)
        summary = manager.run_periodic()
    finally:
        db.clear_override("batch_size", group="batch")
    assert summary["synced"] == 12
    # each project's pass takes at least 400 ms (a read and a write at 200 ms): the pass
    # runs several at once, never more than batch_size (counted, not timed)
    assert 1 < tracker.peak <= 6, tracker.peak
    assert tracker.overlaps == []


def test_on_demand_is_deduplicated_with_a_running_pass(db, make_manager, project):
    cloud = fake_cloud.FakeCloud(delay=0.1)
    manager = make_manager(with_cloud=cloud, coordinated=True)
    tracker = _Tracker()
    tracker.wrap(manager)
    first = manager.submit(project)
    time.sleep(0.05)
    assert manager.request_sync(project) is None      # running: re-run once afterwards
    assert manager.request_sync(project) is None
    first.result(timeout=10)
    deadline = time.monotonic() + 10
    while len(tracker.done) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert len(tracker.done) == 2 and tracker.overlaps == []


def test_two_engines_partition_projects_without_overlap(db, make_manager):
    cloud = fake_cloud.FakeCloud(delay=0.01)
    projects = [uuid.uuid4().hex for _ in range(30)]
    for p in projects:
        quotas.update(db, p, {"volumes": 5})
    a, b = (make_manager(with_cloud=cloud, coordinated=True) for _ in range(2))
    for m in (a, b):
        services.report(db, service_id=m.engine_id, host="h", binary="multisite-engine",
                        topic="t")
    tracker = _Tracker()
    tracker.wrap(a)
    tracker.wrap(b)
    threads = [threading.Thread(target=m.run_periodic) for m in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    by_engine = {}
    for engine_id, project_id in tracker.done:
        by_engine.setdefault(engine_id, []).append(project_id)
    assert sorted(p for _, p in tracker.done) == sorted(projects)   # each exactly once
    assert len(by_engine) == 2 and tracker.overlaps == []
    assert a.coordinator.members() == b.coordinator.members()
    # b stops reporting: after the expiry a alone owns everything
    services.remove(db, b.engine_id)
    a.coordinator.refresh()
    assert all(a.coordinator.owns(p) for p in projects)


def test_pass_takes_over_the_projects_of_an_engine_gone_mid_pass(db, make_manager):
    """The ring is refreshed while a pass runs: an engine that disappears (crash, stop)
    has its projects synced in the survivor's current pass, not one interval later."""
    cloud = fake_cloud.FakeCloud(delay=0.1)
    projects = [uuid.uuid4().hex for _ in range(16)]
    for p in projects:
        quotas.update(db, p, {"volumes": 5})
    db.set_override("report_interval", 1)
    db.set_override("batch_size", 1, group="batch")
    try:
        a, b = (make_manager(with_cloud=cloud, coordinated=True) for _ in range(2))
        for m in (a, b):
            services.report(db, service_id=m.engine_id, host="h",
                            binary="multisite-engine", topic="t")
        a.coordinator.refresh()
        mine = [p for p in projects if a.coordinator.owns(p)]
        assert 0 < len(mine) < len(projects)
        tracker = _Tracker()
        tracker.wrap(a)
        # b goes away 0.3 s into a's pass (a's own projects take >= 0.2 s each)
        threading.Timer(0.3, services.remove, (db, b.engine_id)).start()
        summary = a.run_periodic()
    finally:
        db.clear_override("report_interval")
        db.clear_override("batch_size", group="batch")
    assert sorted(p for _, p in tracker.done) == sorted(projects)
    assert summary["projects"] == summary["synced"] == len(projects)


def test_lock_held_elsewhere_skips_the_pass(db, make_manager, cloud, project):
    a = make_manager(coordinated=True)
    b = make_manager(coordinated=True)
    lock = b.coordinator.lock(project)
    assert lock.acquire(blocking=False)
    try:
        assert a._locked_sync(project, "periodic") is None
    finally:
        lock.release()
    assert a._locked_sync(project, "periodic")["project_id"] == project


def test_quota_settings_api_extension(wsgi_app, project):
    import json

    import webob

    headers = {"X-Project-Id": project, "X-User-Id": "u", "X-Roles": "admin",
               "Content-Type": "application/json"}
    path = f"/v1.0/{project}/os-quota-settings/{project}"
    resp = webob.Request.blank(path, headers=headers).get_response(wsgi_app)
    assert resp.status_int == 200
    assert json.loads(resp.body)["quota_settings"] == {
        "quota_policy": None, "quota_sync": None, "effective_quota_policy": "kingbird"}
    req = webob.Request.blank(path, method="PUT", headers=headers,
                              body=json.dumps({"quota_settings": {"quota_policy": "strict",
                                                                  "quota_sync": True}}).encode())
    resp = req.get_response(wsgi_app)
    assert resp.status_int == 200, resp.body
    assert json.loads(resp.body)["quota_settings"]["effective_quota_policy"] == "strict"
    bad = webob.Request.blank(path, method="PUT", headers=headers,
                              body=b'{"quota_settings": {"quota_policy": "generous"}}')
    assert bad.get_response(wsgi_app).status_int == 400
    member = dict(headers, **{"X-Roles": "member"})
    req = webob.Request.blank(path, method="PUT", headers=member,
                              body=b'{"quota_settings": {"quota_sync": false}}')
    assert req.get_response(wsgi_app).status_int == 403


@pytest.mark.parametrize("version", ["v1.0", "v1.1"])
def test_detail_over_rpc_names_unreachable_regions(wsgi_app, engine, cloud, project, version):
    import json

    import webob

    engine.manager._cloud = cloud
    cloud.set_usage(R1, project, volumes=2)
    cloud.down.add(R3)
    path = (f"/v1.0/{project}/os-quota-sets/{project}/detail" if version == "v1.0"
            else f"/v1.1/{project}/os-quota-sets/detail")
    resp = webob.Request.blank(path, headers={"X-Project-Id": project, "X-User-Id": "u",
                                              "X-Roles": "reader"}).get_response(wsgi_app)
    assert resp.status_int == 200, resp.body
    body = json.loads(resp.body)["quota_set"]
    assert set(body) == {"limits", "usage"}          # Kingbird's body, unchanged
    assert body["usage"]["volumes"] == 2
    assert resp.headers["X-Multisite-Unreachable-Regions"] == R3
