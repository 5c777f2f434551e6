"""os-sync rows are work items of kind "sync": one table, one lease implementation."""

import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import models
from multisite.engine import leases as leases_mod
from multisite.engine import sync_manager
from multisite.objects import stats, sync_jobs, work_items

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"


def _job(db, targets=(R2, R3)):
    job, _ = sync_jobs.create(db, project_id="p1", user_id="u1", rows=[
        {"resource_type": "keypair", "resource": "k1", "source": R1, "target": target,
         "force": False} for target in targets])
    return job["id"]


def _leases(db, engine_id, **opts):
    for name, value in dict({"max_attempts": 3, "lease": 30}, **opts).items():
        db.set_override(name, value, group="sync")
    return sync_manager.SyncRowLeases(db, engine_id)


def test_rows_are_work_items_with_the_job_as_parent(db):
    job_id = _job(db)
    items = work_items.list_items(db, kind=sync_jobs.KIND, parent_id=job_id)
    assert sorted(i["region"] for i in items) == [R3, R2]
    for item in items:
        assert item["key_id"] == item["id"] and item["status"] == work_items.WAITING
        assert item["payload"] == {"resource_type": "keypair", "resource": "k1",
                                   "source_region": R1, "force": False, "target_id": None,
                                   "user_id": "u1", "project_id": "p1"}
    # the old model is a view of the same rows, and of no other kind's
    work_items.add(db, kind="toy", key_id="k")
    with db_api.session_scope(db) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(
            models.ResourceSync)) == 2
        assert session.scalar(sa.select(sa.func.count()).select_from(models.WorkItem)) == 3
    # the metrics count the sync rows only, by their status on the wire
    assert stats.snapshot(db)["sync_rows"] == {sync_jobs.IN_PROGRESS: 2}
    # another kind's claim never takes a sync row, and the reverse
    toy = leases_mod.WorkItemLeases(db, kind="toy", engine_id="e1", lease=30)
    assert [i["kind"] for i in toy.claim(limit=10)] == ["toy"]
    rows = _leases(db, "e1").claim(limit=10)
    assert sorted(r["target_region"] for r in rows) == [R3, R2]
    assert {r["job_id"] for r in rows} == {job_id}


def test_the_job_follows_its_rows_and_the_wire_shows_kingbird_statuses(db):
    job_id = _job(db)
    leases = _leases(db, "e1")
    first, second = leases.claim(limit=10)
    assert leases.key(first) == (sync_manager.NAME, first["id"], first["target_region"])
    leases.finish(first, ok=True)
    assert sync_jobs.get_job(db, job_id)["sync_status"] == sync_jobs.IN_PROGRESS
    leases.requeue(second, delay=0, error="RegionThree unreachable", attempt=True)
    shown = {r["id"]: r for r in sync_jobs.get_rows(db, job_id)}
    assert shown[first["id"]]["sync_status"] == sync_jobs.SUCCESS
    assert shown[second["id"]]["sync_status"] == sync_jobs.IN_PROGRESS
    assert shown[second["id"]]["error"] == "RegionThree unreachable"
    (again,) = leases.claim(limit=10)
    assert (again["id"], again["attempts"]) == (second["id"], 2)
    leases.finish(again, ok=False, error="refused")
    assert sync_jobs.get_job(db, job_id)["sync_status"] == sync_jobs.FAILURE
    shown = {r["id"]: r for r in sync_jobs.get_rows(db, job_id)}
    assert (shown[second["id"]]["sync_status"], shown[second["id"]]["error"]) == (
        sync_jobs.FAILURE, "refused")


def test_a_spent_row_fails_at_claim_and_settles_its_job(db):
    job_id = _job(db, targets=(R2,))
    leases = _leases(db, "e1", max_attempts=1)
    (row,) = leases.claim(limit=10)
    leases.requeue(row, delay=0, error="boom", attempt=True)    # its one attempt is spent
    assert leases.claim(limit=10) == []
    (shown,) = sync_jobs.get_rows(db, job_id)
    assert (shown["sync_status"], shown["error"]) == (
        sync_jobs.FAILURE, "gave up after 1 attempts: boom")
    assert sync_jobs.get_job(db, job_id)["sync_status"] == sync_jobs.FAILURE


def test_target_id_is_kept_in_the_payload_by_the_lease_holder_only(db):
    job_id = _job(db, targets=(R2,))
    (row,) = _leases(db, "e1").claim(limit=10)
    sync_jobs.set_target_id(db, item=row, engine_id="e2", target_id="not-mine")
    assert work_items.get(db, row["id"])["payload"]["target_id"] is None
    sync_jobs.set_target_id(db, item=row, engine_id="e1", target_id="copy-1")
    assert work_items.get(db, row["id"])["payload"]["target_id"] == "copy-1"
    # deleting the finished job deletes its rows
    sync_jobs.finish(db, item=row, engine_id="e1", status=sync_jobs.SUCCESS)
    sync_jobs.delete(db, job_id)
    assert work_items.list_items(db, kind=sync_jobs.KIND) == []
