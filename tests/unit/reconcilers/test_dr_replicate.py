"""DR method `replicate` (Option 3): replication cycles as checkpoints that never pause,
started by the plan's schedule (the replication period), and the recovery point per volume.
In-memory Nova/Cinder (fake_dr.py) on a real database."""

from __future__ import annotations

import datetime

import pytest

from multisite.objects import checkpoints, protection_plans
from multisite.reconcilers import Key
from multisite.reconcilers.dr import plan as plan_kind
from multisite.reconcilers.dr import schedule as schedule_kind
from tests.unit.reconcilers import test_dr
from tests.unit.reconcilers.fake_dr import PROJECT, USER, FakeSites

R1, R2 = "RegionOne", "RegionTwo"
T0 = datetime.datetime(2026, 12, 4, 4, 0, 0)
env = test_dr.env          # the DR kinds' environment over this module's `sites` fixture
_run = test_dr._run


def _at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def _cp(cid, created, volumes):
    return {"id": cid, "created_at": _at(created), "resources": {"volumes": volumes}}


@pytest.mark.parametrize("completed,now,expect", [
    # no checkpoint yet: no restorable copy
    ([], 10, [(None, None, None)]),
    # the newest checkpoint with the volume imported; its snapshot's time is the point
    ([_cp("c1", 0, [{"id": "v1", "imported_backup_id": "b1",
                     "snapshot_created_at": "2026-12-04T04:00:05.000000"}]),
      _cp("c2", 60, [{"id": "v1", "imported_backup_id": "b2",
                      "snapshot_created_at": "2026-12-04T04:01:03.500000"}])],
     90, [("c2", "2026-12-04T04:01:03.500000Z", 26.5)]),
    # a checkpoint whose copy of the volume was not imported does not count
    ([_cp("c1", 0, [{"id": "v1", "imported_backup_id": "b1",
                     "snapshot_created_at": "2026-12-04T04:00:05Z"}]),
      _cp("c2", 60, [{"id": "v1", "backup_id": "b2"}])],
     65, [("c1", "2026-12-04T04:00:05.000000Z", 60.0)]),
    # no (readable) snapshot time: the checkpoint's creation
    ([_cp("c1", 30, [{"id": "v1", "imported_backup_id": "b1", "snapshot_created_at": "x"}])],
     40, [("c1", "2026-12-04T04:00:30.000000Z", 10.0)]),
])
def test_recovery_point_is_the_newest_restorable_copy(completed, now, expect):
    found = checkpoints.recovery_points_of([{"id": "v1", "server_id": "s1"}], completed,
                                           _at(now))
    assert [(p["checkpoint_id"], p["recovery_point"], p["age_seconds"]) for p in found] == \
        expect
    assert found[0]["server_id"] == "s1" and found[0]["volume_id"] == "v1"


@pytest.mark.parametrize("last,now,expect", [
    (None, 0, 0), (0, 59, 1.0), (0, 60, 0), (0, 1000, 0), (30, 45, 45.0)])
def test_schedule_waits_exactly_until_due(last, now, expect):
    assert schedule_kind.wait(60, None if last is None else _at(last), _at(now)) == expect


@pytest.fixture
def sites():
    sites = FakeSites()
    sites.add_server(R1, "db-1", data_volume=True, ip="10.60.0.11")
    sites.add_server(R1, "app-1", ip="10.60.0.13")
    return sites


def _replicated_plan(db, env, interval=60):
    plan = protection_plans.create(
        db, project_id=PROJECT, user_id=USER, name="vnf", source_region=R1,
        backup_region=R2, groups=[["db-1"], ["app-1"]], method="replicate", retention=3,
        schedule_interval=interval)
    plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], R1), env)
    return protection_plans.get(db, plan["id"])


def test_replication_cycles_never_pause_and_are_incremental(db, env, sites):
    plan = _replicated_plan(db, env)
    assert plan["status"] == "ready", plan["problems"]
    first = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    second = _run(db, env, checkpoints.create(db, plan["id"])["id"])
    assert first["status"] == second["status"] == "completed", (first["error"],
                                                                second["error"])
    assert first["method"] == "replicate" and first["window"] is None
    assert not [c for _, c, _ in sites.log if c in ("pause", "unpause")]
    assert set(sites.statuses(R1).values()) == {"ACTIVE"}
    parents = {v["id"]: v["backup_id"] for v in first["resources"]["volumes"]}
    for volume in second["resources"]["volumes"]:
        assert volume["incremental"] and volume["parent_backup_id"] == parents[volume["id"]]
        assert volume["status"] == "exported" and volume["imported_backup_id"] in \
            sites.backups[R2]
    assert sites.snapshots[R1] == {}
    points = checkpoints.recovery_points(db, protection_plans.get(db, plan["id"]))
    assert len(points) == 3
    assert {p["checkpoint_id"] for p in points} == {second["id"]}
    assert all(0 <= p["age_seconds"] < 60 for p in points)


def test_the_schedule_starts_a_cycle_each_period_and_comes_back_when_due(db, env, sites,
                                                                         monkeypatch):
    plan = _replicated_plan(db, env, interval=60)
    key = Key(schedule_kind.KIND, plan["id"], R1)
    started = schedule_kind.reconcile(key, env)
    assert started.result and started.status == "requeue" and started.delay == 60
    early = schedule_kind.reconcile(key, env)     # not due: back exactly when due
    assert early.result is None and 55 < early.delay <= 60
    with monkeypatch.context() as patch:          # due while the cycle still runs
        patch.setattr(schedule_kind, "wait", lambda *a: 0)
        busy = schedule_kind.reconcile(key, env)
    assert busy.result is None and busy.delay == env.shared.opts.poll_interval
    assert _run(db, env, started.result)["status"] == "completed"
    waiting = schedule_kind.reconcile(key, env)
    assert waiting.result is None and 55 < waiting.delay <= 60
