"""multisite-manage db_sync / db_version, and the migrations against the models."""

import datetime
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import autogenerate
from alembic.runtime.migration import MigrationContext

from multisite.conf import global_limit
from multisite.db import api as db_api
from multisite.db import migration, models
from multisite.objects import sync_jobs, work_items

MANAGE = os.path.join(os.path.dirname(sys.executable), "multisite-manage")


def manage(tmp_path, url, command, *, limits=None):
    """Run the real console script with a config file; returns its stdout."""
    lines = ["[DEFAULT]", "transport_url = fake://", "[database]", f"connection = {url}"]
    if limits:
        lines.append("[kingbird_global_limit]")
        lines += [f"quota_{name} = {value}" for name, value in limits.items()]
    path = tmp_path / "manage.conf"
    path.write_text("\n".join(lines) + "\n")
    done = subprocess.run([MANAGE, "--config-file", str(path), command],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def default_class(conf):
    with db_api.get_engine(conf).connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT resource, hard_limit FROM quota_classes WHERE class_name = 'default'"))
        return dict(rows.all())


def test_db_sync_to_head_and_seed(conf, backend_url, tmp_path):
    assert manage(tmp_path, backend_url, "db_version").strip() == "None (no schema)"
    out = manage(tmp_path, backend_url, "db_sync")
    head = migration.head_version()
    assert out.strip() == f"Database is at version {head}"
    assert manage(tmp_path, backend_url, "db_version").strip() == head
    assert migration.db_version(conf) == head
    assert default_class(conf) == global_limit.DEFAULT_LIMITS


def test_db_sync_seeds_the_configured_limits(conf, backend_url, tmp_path):
    custom = {"ram": 4096, "cores": 64, "fixed_ips": 0, "key_pairs": -1}
    manage(tmp_path, backend_url, "db_sync", limits=custom)
    assert default_class(conf) == {**global_limit.DEFAULT_LIMITS, **custom}


def test_db_sync_twice_is_a_no_op(conf, backend_url, tmp_path):
    manage(tmp_path, backend_url, "db_sync")
    before = default_class(conf)
    # Different limits on the second run must not reseed: the class is data now.
    out = manage(tmp_path, backend_url, "db_sync", limits={"ram": 1})
    assert out.strip() == f"Database is at version {migration.head_version()}"
    assert default_class(conf) == before
    with db_api.get_engine(conf).connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM quota_classes")).scalar() == 20


def test_migrations_match_the_models(conf, backend_url):
    """Autogenerate finds nothing to do: a model change needs a new migration."""
    migration.db_sync(conf)
    with db_api.get_engine(conf).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = autogenerate.compare_metadata(context, models.Base.metadata)
    assert diff == []


def test_0011_images_up_down_up(conf, backend_url):
    """0011_images alone on each backend: its tables, the one-copy-per-(image, region)
    constraint the lazy ensure relies on, its downgrade, and the upgrade again."""
    migration.db_sync(conf, version="0011_images")
    engine = db_api.get_engine(conf)
    tables = {"image_distributions", "image_copies", "image_rollouts"}
    assert tables <= set(sa.inspect(engine).get_table_names())
    row = {"project_id": "p", "image_id": "i", "source_region": "RegionOne",
           "origin": "lazy", "hidden": False, "state": "pending", "created_at": "2026-12-03"}
    insert = sa.text(
        "INSERT INTO image_copies (id, project_id, image_id, source_region, region, origin, "
        "hidden, state, created_at) VALUES (:id, :project_id, :image_id, :source_region, "
        ":region, :origin, :hidden, :state, :created_at)")
    with engine.begin() as connection:
        connection.execute(insert, dict(row, id="c1", region="RegionTwo"))
        connection.execute(insert, dict(row, id="c2", region="RegionThree"))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(insert, dict(row, id="c3", region="RegionTwo"))
    migration.db_downgrade(conf, version="0009_identity")
    assert migration.db_version(conf) == "0009_identity"
    assert not tables & set(sa.inspect(engine).get_table_names())
    migration.db_sync(conf)
    assert migration.db_version(conf) == migration.head_version()
    assert tables <= set(sa.inspect(engine).get_table_names())
# -- 0016: the os-sync rows move into work_items, ids and wire format kept ---------------------

T0 = datetime.datetime(2026, 11, 30, 12, 0, 0)
SECOND = datetime.timedelta(seconds=1)
FUTURE = datetime.datetime(2099, 1, 1)
OLD_ROWS = [
    # (id, job, source, target, resource, type, status, error, attempts, claimed_by,
    #  claimed_until, force, target_id, created, updated)
    ("00000000-0000-0000-0000-0000000000a1", "job-done", "RegionOne", "RegionTwo", "k1",
     "keypair", "SUCCESS", None, 1, None, None, False, "k1", T0, T0 + SECOND),
    ("00000000-0000-0000-0000-0000000000a2", "job-done", "RegionOne", "RegionThree", "k1",
     "keypair", "FAILURE", "gave up after 3 attempts: boom", 3, None, None, False, None, T0,
     T0 + 2 * SECOND),
    # a running job: one row claimed by an engine (lease in the future), one requeued after
    # a temporary error (claimed_until in the past: claimable), one never tried
    ("00000000-0000-0000-0000-0000000000b1", "job-running", "RegionOne", "RegionTwo", "img",
     "image", "IN_PROGRESS", None, 1, "engine-a", FUTURE, True, "copy-1", T0, T0),
    ("00000000-0000-0000-0000-0000000000b2", "job-running", "RegionTwo", "RegionOne", "fl",
     "flavor", "IN_PROGRESS", "RegionOne unreachable", 2, None, T0, False, None, T0, T0),
    ("00000000-0000-0000-0000-0000000000b3", "job-running", "RegionOne", "RegionThree", "fl",
     "flavor", "IN_PROGRESS", None, 0, None, None, False, None, T0, None),
]
OLD_COLUMNS = ("resource_sync_id", "job_id", "source_region", "target_region", "resource",
               "resource_type", "sync_status", "error", "attempts", "claimed_by",
               "claimed_until", "force", "target_id", "created_at", "updated_at")


def _old_wire(row):
    """A row as os-sync answered it before 0016 (objects/sync_jobs._row_dict then)."""
    old = dict(zip(OLD_COLUMNS, row, strict=True))
    fmt = sync_jobs.fmt_time
    return {"id": old["resource_sync_id"], "target_region": old["target_region"],
            "source_region": old["source_region"], "resource": old["resource"],
            "resource_type": old["resource_type"], "sync_status": old["sync_status"],
            "created_at": fmt(old["created_at"]), "updated_at": fmt(old["updated_at"]),
            "error": old["error"]}


def _old_answer(job):
    """os-sync/<job>'s rows before 0016: ORDER BY created_at, resource, source, target."""
    rows = [_old_wire(r) for r in OLD_ROWS if r[1] == job]
    return sorted(rows, key=lambda r: (r["created_at"], r["resource"], r["source_region"],
                                       r["target_region"]))


OLD_TABLE = sa.table("resource_sync", *(
    sa.column(c, sa.DateTime if c in ("claimed_until", "created_at", "updated_at") else None)
    for c in OLD_COLUMNS))
JOBS = sa.table("sync_job", *(sa.column(c) for c in (
    "job_id", "sync_status", "user_id", "project_id", "force", "created_at")))


def _resource_sync(connection):
    rows = connection.execute(sa.select(OLD_TABLE).order_by(OLD_TABLE.c.resource_sync_id))
    return [tuple(bool(v) if c == "force" else v for c, v in zip(OLD_COLUMNS, r, strict=True))
            for r in rows]


def test_0016_moves_sync_rows_into_work_items_and_back(conf, backend_url):
    migration.db_sync(conf, version="0015_identity2")
    engine = db_api.get_engine(conf)
    with engine.begin() as connection:
        connection.execute(JOBS.insert(), [
            {"job_id": job, "sync_status": status, "user_id": "u1", "project_id": "p1",
             "force": job == "job-running", "created_at": T0}
            for job, status in (("job-done", "FAILURE"), ("job-running", "IN_PROGRESS"))])
        connection.execute(OLD_TABLE.insert(),
                           [dict(zip(OLD_COLUMNS, row, strict=True)) for row in OLD_ROWS])
    with engine.connect() as connection:
        before = _resource_sync(connection)

    migration.db_sync(conf)
    assert not sa.inspect(db_api.get_engine(conf)).has_table("resource_sync")
    # os-sync answers the same JSON: ids, statuses, errors, timestamps, order
    for job in ("job-done", "job-running"):
        assert sync_jobs.get_rows(conf, job, project_id="p1") == _old_answer(job)
    (item,) = [i for i in work_items.list_items(conf, kind="sync", parent_id="job-running")
               if i["id"].endswith("b1")]
    assert item["payload"] == {"resource_type": "image", "resource": "img",
                               "source_region": "RegionOne", "force": True,
                               "target_id": "copy-1", "user_id": "u1", "project_id": "p1"}
    assert (item["key_id"], item["region"], item["claimed_by"], item["attempts"]) == (
        item["id"], "RegionTwo", "engine-a", 1)
    # the lease taken before the upgrade holds; the requeued and the new row are claimable
    claimed = sync_jobs.claim(conf, engine_id="engine-b", lease=30, limit=10, max_attempts=5)
    assert sorted((c["id"][-2:], c["attempts"], c["target_region"], c["user_id"])
                  for c in claimed) == [("b2", 3, "RegionOne", "u1"),
                                        ("b3", 1, "RegionThree", "u1")]
    for row in claimed:
        assert sync_jobs.finish(conf, item=row, engine_id="engine-b",
                                status=sync_jobs.SUCCESS)
    assert sync_jobs.get_job(conf, "job-running")["sync_status"] == sync_jobs.IN_PROGRESS

    # back to 0015: resource_sync as it was (the two rows finished since, as they ended)
    migration.db_downgrade(conf, version="0015_identity2")
    assert work_items.list_items(conf, kind="sync") == []
    with engine.connect() as connection:
        after = {r[0]: r for r in _resource_sync(connection)}
    for row in before:
        if row[0][-2:] in ("b2", "b3"):
            got = after[row[0]]
            assert (got[6], got[7], got[9], got[10]) == ("SUCCESS", None, None, None)
            assert got[:6] == row[:6] and got[11:14] == row[11:14]
        else:
            assert after[row[0]] == row
    migration.db_sync(conf)
    assert sync_jobs.get_rows(conf, "job-done", project_id="p1") == _old_answer("job-done")
