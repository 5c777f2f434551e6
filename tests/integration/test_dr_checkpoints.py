"""Checkpoints of a VNF on the devcloud's full profile, on real Nova and Cinder (issue 19).

One VNF for the whole module (booting servers is slow): two groups, db-1 and db-2 booted
from volumes with a data volume each, then app-1 (booted from a volume), in a project of
its own in RegionOne. Its protection plan (method pause) backs up to RegionTwo. The tests
run in file order, the failure paths first (they leave no backup behind), then the
checkpoints that complete:

* a failing snapshot (the devcloud's `devcloud-fail-snapshot` volume metadata): every
  server unpaused, the checkpoint failed naming the volume and its server;
* kill -9 of a real `multisite-engine` inside the window held open by `[dr]
  test_hold_window`: a second engine unpauses every server and fails the checkpoint;
* four checkpoints with retention 2: the first full, its pause order and snapshot times
  read from Nova and Cinder, backups in the shared posix store and imported in RegionTwo,
  temporaries deleted; the second incremental (parent recorded, and Cinder's own parent,
  read from the exported record, the same); the third full again (chains are at most
  `retention` long); the fourth incremental, and retention deletes the two oldest.

The checkpoints of the failure and completion tests are run by the checkpoint kind's real
reconcile in this process (the real DR client, service credentials); the crash test runs
real engine processes over the same SQLite database.

Nova and Cinder keep their times to the second (MySQL DATETIME): orders between servers
paused within one second are read from Nova as "not later", and strictly from the
checkpoint's own record (microseconds).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import types

import pytest

from multisite.clients import dr as dr_client
from multisite.engine import dr as dr_env
from multisite.objects import checkpoints, protection_plans
from multisite.reconcilers import Key
from multisite.reconcilers.dr import checkpoint as cp_kind
from multisite.reconcilers.dr import plan as plan_kind
from tests.integration.dr_vnf import (
    admin_project_id,
    admin_teardown,
    boot_vnf,
    dr_conf,
    run_checkpoint,
    unlimited_volumes,
)
from tests.integration.usage import unique
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]
R1, R2 = "RegionOne", "RegionTwo"
NAMES = ("db-1", "db-2", "app-1")
FAIL_SNAPSHOT = "devcloud-fail-snapshot"


def _seconds(stamp):
    """An ISO time (Nova's, Cinder's or the checkpoint's) cut to the second, comparable."""
    return stamp.replace("Z", "").replace("T", " ")[:19]


@pytest.fixture(scope="module")
def vnf(devcloud_full):
    cloud = devcloud_full
    project = cloud.create_project(unique("dr19"))
    unlimited_volumes(cloud, admin_project_id(cloud))
    unlimited_volumes(cloud, project.id, regions=(R1,))
    teardown, servers, volumes = None, {}, {}
    try:
        servers, volumes, teardown = boot_vnf(project.connect(R1), NAMES,
                                              data=("db-1", "db-2"), cidr="10.63.0.0/24",
                                              wait=600)
        yield types.SimpleNamespace(project=project, servers=servers, volumes=volumes)
    finally:
        if teardown is not None:
            admin_teardown(cloud, servers, volumes, teardown)
        cloud.delete_project(project)


@pytest.fixture
def full_conf(devcloud_full, db):
    # region_timeout: a snapshot request answered after the default 10 s under load made
    # the session send the POST again (a duplicate snapshot)
    return dr_conf(db, devcloud_full, poll_interval=0.5, region_timeout=60.0)


def _plan(conf, vnf, retention=2):
    env = types.SimpleNamespace(shared=dr_env.DrEnv(conf), attempts=1, item=None)
    groups = [[vnf.servers["db-1"].name, vnf.servers["db-2"].name], [vnf.servers["app-1"].name]]
    plan = protection_plans.create(
        conf, project_id=vnf.project.id, user_id=vnf.project.user_id, name=unique("dr19"),
        source_region=R1, backup_region=R2, groups=groups, method="pause", retention=retention)
    plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], R1), env)
    found = protection_plans.get(conf, plan["id"])
    assert found["status"] == "ready", found["problems"]
    return found, env


def _all_active(client, vnf):
    return {name: client.server(s.id)["status"] for name, s in vnf.servers.items()}


def _actions_since(client, server_id, since):
    """Nova's pause/unpause actions of the server from `since` (to the second) on."""
    return [(a, t) for a, t in client.instance_actions(server_id)
            if a in ("pause", "unpause") and _seconds(t) >= _seconds(since)]


def _delete_backups(conf, cps):
    """The checkpoints' backups in both regions, newest checkpoint first, each one's gone
    before the next: Cinder refuses to delete a backup an incremental one depends on."""
    clients = {R1: dr_client.for_region(conf, R1), R2: dr_client.for_region(conf, R2)}
    for cp in cps:
        made = [(clients[region], v.get(key)) for v in (cp or {}).get("resources", {}).get(
            "volumes", []) for region, key in ((R2, "imported_backup_id"), (R1, "backup_id"))
            if v.get(key)]
        for client, backup_id in made:
            with contextlib.suppress(Exception):
                client.delete_backup(backup_id)
        # one deadline for the checkpoint's backups together (a delete Cinder never ends
        # costs it once, not once per backup)
        with contextlib.suppress(Exception):
            wait_for(lambda m=made: all(c.backup(b) is None for c, b in m) or None,
                     timeout=240, what="the checkpoint's backups deleted", interval=3)


def _record_parent(record):
    """Cinder's own parent of an exported backup: the record's backup_url is the backup
    object as base64 JSON (Cinder's API never shows a backup's parent_id)."""
    return json.loads(base64.b64decode(record["backup_url"]))["parent_id"]


def test_a_failing_snapshot_still_unpauses_and_names_it(devcloud_full, full_conf, vnf):
    source = dr_client.for_region(full_conf, R1)
    cinder = devcloud_full.admin_connection(R1).block_storage
    bad = vnf.volumes["db-2"].id
    resp = cinder.post(f"/volumes/{bad}/metadata", json={"metadata": {FAIL_SNAPSHOT: "1"}})
    assert resp.status_code == 200, resp.text
    try:
        plan, env = _plan(full_conf, vnf)
        cp = checkpoints.create(full_conf, plan["id"])
        done = run_checkpoint(full_conf, env, cp["id"])
    finally:
        cinder.delete(f"/volumes/{bad}/metadata/{FAIL_SNAPSHOT}")
    assert done["status"] == "failed"
    server = vnf.servers["db-2"].name
    assert f"snapshot failed for volume {bad} of server {server}" in done["error"], done["error"]
    failed = [v for v in done["resources"]["volumes"] if v["status"] == "failed"]
    assert [v["id"] for v in failed] == [bad]
    assert _all_active(source, vnf) == {n: "ACTIVE" for n in NAMES}
    for name, s in vnf.servers.items():
        actions = [a for a, _t in _actions_since(source, s.id, done["window"]["opened_at"])]
        assert actions == ["pause", "unpause"], (name, actions)
    # the window's snapshots (the failed one too) are deleted
    for volume in done["resources"]["volumes"]:
        wait_for(lambda v=volume: not source.find_snapshots(cp_kind.copy_name(cp["id"], v["id"]))
                 or None, timeout=180, what=f"snapshots of {volume['id']} deleted", interval=2)


def _engine_conf(tmp_path, conf, name, hold):
    path = tmp_path / f"{name}.conf"
    path.write_text("\n".join([
        "[DEFAULT]", "transport_url = fake://", "auth_strategy = noauth", "debug = true",
        f"host = dr19-{name}",
        "[database]", f"connection = {conf.database.connection}",
        "[coordination]", f"backend_url = file://{tmp_path / 'locks'}",
        "[scheduler]", "periodic_enable = false",
        "[cache]", f"auth_uri = {conf.cache.auth_uri}", "admin_username = admin",
        "admin_password = adminpw", "admin_tenant = admin", "region_timeout = 60",
        "[dr]", "lease = 5", "scan_interval = 0.5", "poll_interval = 0.5",
        f"test_hold_window = {hold}", ""]))
    return path


def _spawn_engine(tmp_path, conf_file, name):
    binary = os.path.join(os.path.dirname(sys.executable), "multisite-engine")
    return subprocess.Popen([binary, "--config-file", str(conf_file), "--log-file",
                             str(tmp_path / f"{name}.log")], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_b_engine_killed_inside_the_window_unpauses_on_restart(full_conf, vnf, tmp_path):
    source = dr_client.for_region(full_conf, R1)
    plan, _env = _plan(full_conf, vnf)
    procs = []
    try:
        first = _spawn_engine(tmp_path, _engine_conf(tmp_path, full_conf, "e1", 300), "e1")
        procs.append(first)
        cp = checkpoints.create(full_conf, plan["id"])

        def held():
            found = checkpoints.get(full_conf, cp["id"])
            assert found["status"] not in ("completed", "failed"), found["error"]
            window = found.get("window") or {}
            snapped = all(v.get("status") == "snapshotted"
                          for v in found["resources"].get("volumes", [{}]))
            return found if window.get("paused_at") and snapped else None

        wait_for(held, timeout=300, what="window held open with every snapshot", interval=1)
        assert _all_active(source, vnf) == {n: "PAUSED" for n in NAMES}
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        time.sleep(2)
        # still paused: nothing unpaused them when the engine died
        assert _all_active(source, vnf) == {n: "PAUSED" for n in NAMES}
        procs.append(_spawn_engine(tmp_path, _engine_conf(tmp_path, full_conf, "e2", 0), "e2"))

        def ended():
            found = checkpoints.get(full_conf, cp["id"])
            return found if found["status"] in ("completed", "failed") else None

        done = wait_for(ended, timeout=300, what="checkpoint ended after the restart",
                        interval=1)
        assert _all_active(source, vnf) == {n: "ACTIVE" for n in NAMES}
        assert done["status"] == "failed"
        assert "stopped inside the pause window" in done["error"]
        assert done["window"]["interrupted"] is True
        assert {s["pause"] for s in done["resources"]["servers"]} == {"unpaused"}
        for volume in done["resources"]["volumes"]:
            wait_for(lambda v=volume: not source.find_snapshots(
                cp_kind.copy_name(cp["id"], v["id"])) or None, timeout=180,
                what=f"snapshots of {volume['id']} deleted", interval=2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        # never leave the shared VNF paused for the next test
        for s in vnf.servers.values():
            with contextlib.suppress(Exception):
                if source.server(s.id)["status"] == "PAUSED":
                    source.unpause(s.id)


def _check_first(devcloud_full, conf, vnf, cp):
    source, target = dr_client.for_region(conf, R1), dr_client.for_region(conf, R2)
    window = cp["window"]
    servers = cp["resources"]["servers"]
    order = [s["id"] for s in sorted(servers, key=lambda s: (s["group"], s["position"]))]
    by_name = {s["name"]: s for s in servers}
    assert order[2] == vnf.servers["app-1"].id and set(order[:2]) == {
        vnf.servers["db-1"].id, vnf.servers["db-2"].id}
    # the checkpoint's record, to the microsecond: pause in group order, unpause in reverse
    paused = [next(s["paused_at"] for s in servers if s["id"] == sid) for sid in order]
    unpaused = [next(s["unpaused_at"] for s in servers if s["id"] == sid) for sid in order]
    assert paused == sorted(paused) and unpaused == sorted(unpaused, reverse=True)
    assert paused[-1] <= window["paused_at"] < min(unpaused)
    # Nova's instance actions (to the second)
    nova = {sid: _actions_since(source, sid, window["opened_at"]) for sid in order}
    for sid, actions in nova.items():
        assert [a for a, _t in actions] == ["pause", "unpause"], (sid, actions)
    pause_t = [_seconds(nova[sid][0][1]) for sid in order]
    unpause_t = [_seconds(nova[sid][1][1]) for sid in order]
    assert pause_t == sorted(pause_t) and unpause_t == sorted(unpause_t, reverse=True)
    assert max(pause_t) <= min(unpause_t)
    # every snapshot made inside the window (Cinder's creation time)
    volumes = cp["resources"]["volumes"]
    assert len(volumes) == 5
    assert sorted(v["server"] for v in volumes) == sorted(
        vnf.servers[n].name for n in ("db-1", "db-1", "db-2", "db-2", "app-1"))
    for volume in volumes:
        created = _seconds(volume["snapshot_created_at"])
        assert max(pause_t) <= created <= min(unpause_t), (volume, pause_t, unpause_t)
        assert _seconds(window["paused_at"]) <= created <= _seconds(min(unpaused)), volume
    assert window["seconds"] > 0 and window["slowest_snapshot_seconds"] > 0
    # backups: available, in the shared posix store, imported in RegionTwo
    store = devcloud_full.base / "backups"
    for volume in volumes:
        assert volume["status"] == "exported"
        backup = source.backup(volume["backup_id"])
        assert backup["status"] == "available" and backup["is_incremental"] is False
        assert "posix" in volume["record"]["backup_service"], volume["record"]
        assert list(store.rglob(f"*backup_{volume['backup_id']}*")), volume["backup_id"]
        assert target.backup(volume["imported_backup_id"])["status"] == "available"
    # temporaries: the snapshots are gone, no volume was made
    for volume in volumes:
        assert source.snapshot(volume["snapshot_id"]) is None
        assert not source.find_snapshots(cp_kind.copy_name(cp["id"], volume["id"]))
        assert not source.find_volumes(cp_kind.copy_name(cp["id"], volume["id"]))
    assert by_name  # names recorded for the report
    return volumes


def test_c_checkpoints_incremental_and_retention(devcloud_full, full_conf, vnf):
    source = dr_client.for_region(full_conf, R1)
    plan, env = _plan(full_conf, vnf, retention=2)
    made = []
    try:
        cps = []
        for _ in range(4):
            cp = checkpoints.create(full_conf, plan["id"])
            made.append(cp["id"])
            done = run_checkpoint(full_conf, env, cp["id"])
            assert done["status"] == "completed", done["error"]
            assert _all_active(source, vnf) == {n: "ACTIVE" for n in NAMES}
            cps.append(done)
            print(f"checkpoint {len(cps)}: window {done['window']['seconds']} s, slowest "  # noqa: T201
                  f"snapshot {done['window']['slowest_snapshot_seconds']} s")
            if len(cps) == 1:
                _check_first(devcloud_full, full_conf, vnf, done)
        first, second, third, fourth = cps
        # the second: incremental on the first (our record, Cinder's flag and Cinder's parent)
        assert second["parent_id"] == first["id"]
        parents = {v["id"]: v["backup_id"] for v in first["resources"]["volumes"]}
        for volume in second["resources"]["volumes"]:
            assert volume["incremental"] is True and volume["is_incremental"] is True, volume
            assert volume["parent_backup_id"] == parents[volume["id"]]
            assert volume["chain_length"] == 2
            assert _record_parent(volume["record"]) == parents[volume["id"]]
            assert volume["cinder_parent_backup_id"] == parents[volume["id"]]
        # the third: a chain is at most `retention` (2) long, so full again
        for volume in third["resources"]["volumes"]:
            assert volume["incremental"] is False and volume["is_incremental"] is False
            assert _record_parent(volume["record"]) is None
        for volume in fourth["resources"]["volumes"]:
            assert volume["is_incremental"] is True and volume["chain_length"] == 2
        # retention 2: the third and fourth kept; the first two go (nothing kept needs them)
        assert third["resources"].get("retention_deleted") == []
        assert fourth["resources"]["retention_deleted"] == [second["id"], first["id"]]
        assert checkpoints.get(full_conf, first["id"]) is None
        assert checkpoints.get(full_conf, second["id"]) is None
        target = dr_client.for_region(full_conf, R2)
        for old in (first, second):
            for volume in old["resources"]["volumes"]:
                wait_for(lambda v=volume: source.backup(v["backup_id"]) is None or None,
                         timeout=300, what=f"backup {volume['backup_id']} deleted", interval=2)
                wait_for(lambda v=volume: target.backup(v["imported_backup_id"]) is None
                         or None, timeout=300, what="imported backup deleted", interval=2)
        for kept in (third, fourth):
            for volume in kept["resources"]["volumes"]:
                assert source.backup(volume["backup_id"])["status"] == "available"
    finally:
        _delete_backups(full_conf, [checkpoints.get(full_conf, c) for c in reversed(made)])
