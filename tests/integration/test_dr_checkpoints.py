"""Checkpoints of protection plans end to end on the devcloud's full profile (issue 19).

A VNF of two groups in RegionOne: db-1 and db-2 booted from volumes with a data volume
each, app-1 booted from a volume. Real processes: ``multisite-api`` (noauth, the project's
member) and ``multisite-engine`` on one SQLite file, reaching the regions with the
devcloud's admin account. The snapshots are online (attached NFS volumes): Cinder asks Nova,
whose compute driver is the devcloud's SnapshotFakeDriver (docs/devcloud.md).

* a checkpoint with ``pause``: Nova's instance actions show the pauses in group order and
  the unpauses in reverse, every snapshot made inside the window (Cinder's creation times),
  the backups in the shared backup store and imported in RegionTwo, the snapshots deleted;
  a second checkpoint is incremental (its parent recorded, Cinder's parent the same);
* retention 1 on a second plan: the second checkpoint deletes the first one's backups;
* the engine killed (SIGKILL) inside the window (``[dr] test_hold_window``): the restarted
  engine unpauses every server, deletes the window's snapshots, fails the checkpoint;
* a snapshot failing (a volume with ``devcloud-fail-snapshot`` metadata): the servers are
  unpaused, the checkpoint fails naming the volume and its server.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import subprocess
import time

import openstack
import pytest

from multisite.devcloud import layout as L
from tests.functional.api import servers
from tests.integration.dr_vnf import admin_project_id, boot_vnf, unlimited_volumes
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]
R1, R2 = "RegionOne", "RegionTwo"
FAIL_KEY = "devcloud-fail-snapshot"  # multisite/devcloud/agents/snapshot_driver.py


def _time(text):
    """An ISO time of Nova, Cinder or the checkpoint (naive UTC)."""
    text = text.rstrip("Z").split("+")[0]
    return datetime.datetime.fromisoformat(text)


class Stack:
    """multisite-api + multisite-engine processes on one SQLite database."""

    def __init__(self, cloud, directory, project):
        self.dir = directory
        self.connection = f"sqlite:///{directory / 'multisite.sqlite'}"
        conf, self.port = servers.write_config(str(directory), connection=self.connection)
        self.conf = directory / "multisite.conf"
        assert str(self.conf) == conf
        with open(conf, "a") as fh:
            fh.write(f"""[cache]
auth_uri = {cloud.keystone_url}
admin_username = {L.ADMIN_USER}
admin_password = {L.ADMIN_PASSWORD}
admin_tenant = {L.ADMIN_PROJECT}
admin_user_domain_name = {L.DOMAIN}
admin_project_domain_name = {L.DOMAIN}
[dr]
scan_interval = 0.3
poll_interval = 0.5
lease = 5
""")
        self.hold = directory / "hold.conf"
        self.hold.write_text("[dr]\ntest_hold_window = 600\n")
        servers.manage(conf, "db_sync")
        self.engine_runs = 0
        self.engine = None
        self.api = self._spawn("multisite-api", "api")
        servers.wait_ready(self.api, self.port)
        self.client = servers.Client(self.port, project_id=project.id, roles="member")
        self.client.headers["X-User-Id"] = project.user_id

    def _spawn(self, binary, name, *extra):
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (closed by servers.stop)
        args = [os.path.join(servers.BIN, binary), "--config-file", str(self.conf)]
        for path in extra:
            args += ["--config-file", str(path)]
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
        proc.log = log
        return proc

    def start_engine(self, *, hold=False):
        self.engine_runs += 1
        self.engine = self._spawn("multisite-engine", f"engine{self.engine_runs}",
                                  *([self.hold] if hold else []))
        servers.wait_engine(self.engine, self.connection, timeout=120)

    def kill_engine(self):
        self.engine.send_signal(signal.SIGKILL)
        self.engine.wait(timeout=30)
        self.engine.log.close()

    def stop(self):
        self.client.close()
        for proc in (self.engine, self.api):
            if proc is not None and proc.returncode is None:
                servers.stop(proc)

    def call(self, method, path, body=None):
        status, _, answer = self.client.request(method, path, body)
        return status, answer

    def plan(self, name, groups, *, retention=3, method="pause"):
        status, body = self.call("POST", "/v2/protection-plans", {"protection_plan": {
            "name": name, "source_region": R1, "backup_region": R2, "groups": groups,
            "method": method, "retention": retention}})
        assert status == 202, body
        plan_id = body["protection_plan"]["id"]

        def ready():
            status, body = self.call("GET", f"/v2/protection-plans/{plan_id}")
            assert status == 200, body
            plan = body["protection_plan"]
            return plan if plan["status"] != "discovering" else None

        plan = wait_for(ready, timeout=60, what="plan discovery", interval=0.5)
        assert plan["status"] == "ready", plan["problems"]
        return plan

    def start_checkpoint(self, plan):
        status, body = self.call("POST", f"/v2/protection-plans/{plan['id']}/checkpoints")
        assert status == 202, body
        return body["checkpoint"]["id"]

    def checkpoint_row(self, checkpoint_id):
        status, body = self.call("GET", f"/v2/checkpoints/{checkpoint_id}")
        assert status == 200, body
        return body["checkpoint"]

    def finished(self, checkpoint_id, timeout=300):
        def ended():
            cp = self.checkpoint_row(checkpoint_id)
            return cp if cp["status"] in ("completed", "failed") else None

        return wait_for(ended, timeout=timeout, what=f"checkpoint {checkpoint_id}", interval=1)

    def checkpoint(self, plan, timeout=300):
        t0 = time.monotonic()
        cp = self.finished(self.start_checkpoint(plan), timeout)
        print(f"checkpoint {cp['id']}: {cp['status']} in {time.monotonic() - t0:.1f} s, "
              f"window {cp['window']}")
        return cp


class Vnf:
    def __init__(self, cloud, project, stack):
        self.cloud, self.project, self.stack = cloud, project, stack
        self.conn = project.connect(R1)
        self.servers = {}   # name -> server
        self.data = {}      # server name -> data volume
        self.checkpoints = []
        self.teardown = lambda: None

    def boot(self):
        t0 = time.monotonic()
        self.servers, self.data, self.teardown = boot_vnf(
            self.conn, ["db-1", "db-2", "app-1"], data=["db-1", "db-2"], cidr="10.61.0.0/24")
        print(f"VNF of 3 servers (5 volumes) ready in {time.monotonic() - t0:.1f} s")

    def name(self, short):
        return self.servers[short].name

    def statuses(self):
        return {n: self.conn.compute.get_server(s.id).status for n, s in self.servers.items()}

    def actions(self, short):
        """Nova's pause/unpause actions of one server: [(action, start_time)], oldest first."""
        admin = self.cloud.admin_connection(R1)
        body = admin.compute.get(f"/servers/{self.servers[short].id}/os-instance-actions",
                                 microversion="2.21").json()["instanceActions"]
        # Nova lists them newest first (created_at, then id: exact even within one second)
        return [(a["action"], _time(a["start_time"])) for a in reversed(body)
                if a["action"] in ("pause", "unpause")]

    def snapshots_named(self, checkpoint_id):
        admin = self.cloud.admin_connection(R1).block_storage
        return [s for s in admin.snapshots(all_projects=True)
                if (s.name or "").startswith(f"ms-dr-{checkpoint_id}-")]

    def delete_copies(self):
        """The backups the checkpoints left (service project, both regions)."""
        admins = {r: self.cloud.admin_connection(r).block_storage for r in (R1, R2)}
        # newest first: Cinder refuses to delete a backup an incremental one depends on
        for cp_id in reversed(self.checkpoints):
            cp = self.stack.checkpoint_row(cp_id) if self.stack else {}
            for vol in reversed((cp.get("resources") or {}).get("volumes", [])):
                for region, key in ((R2, "imported_backup_id"), (R1, "backup_id")):
                    if vol.get(key):
                        with contextlib.suppress(Exception):
                            admins[region].delete_backup(vol[key], ignore_missing=True,
                                                         force=True)


@pytest.fixture(scope="module")
def vnf(devcloud_full, tmp_path_factory):
    cloud = devcloud_full
    project = cloud.create_project()
    stack = None
    v = Vnf(cloud, project, None)
    try:
        # the checkpoints' copies belong to the admin project: up to 12 backups at once here
        unlimited_volumes(cloud, admin_project_id(cloud))
        v.boot()
        stack = v.stack = Stack(cloud, tmp_path_factory.mktemp("dr"), project)
        stack.start_engine()
        yield v
    finally:
        with contextlib.suppress(Exception):
            v.delete_copies()
        if stack is not None:
            stack.stop()
        v.teardown()
        cloud.delete_project(project)


def _assert_all_active(vnf):
    assert set(vnf.statuses().values()) == {"ACTIVE"}, vnf.statuses()


def test_checkpoints_pause_in_order_snapshot_inside_the_window_and_go_incremental(vnf):
    stack = vnf.stack
    plan = stack.plan("vnf-a", [[vnf.name("db-1"), vnf.name("db-2")], [vnf.name("app-1")]],
                      retention=3)
    assert len(plan["resources"]["volumes"]) == 5
    order = ["db-1", "db-2", "app-1"]
    before = {n: vnf.actions(n) for n in order}
    cp = stack.checkpoint(plan)
    vnf.checkpoints.append(cp["id"])
    assert cp["status"] == "completed", cp["error"]
    _assert_all_active(vnf)
    window = cp["window"]
    opened, closed = _time(window["opened_at"]), _time(window["closed_at"])
    print(f"window {window['seconds']} s, slowest snapshot {window['slowest_snapshot_seconds']}"
          f" s, snapshots {[v['snapshot_seconds'] for v in cp['resources']['volumes']]}")

    # Nova: each server paused once and unpaused once by this checkpoint, inside the window
    actions = {n: vnf.actions(n)[len(before[n]):] for n in order}
    for name in order:
        assert [a for a, _ in actions[name]] == ["pause", "unpause"], (name, actions[name])
    pauses = [actions[n][0][1] for n in order]
    unpauses = [actions[n][1][1] for n in reversed(order)]
    # Nova's times are in whole seconds on MariaDB: ties are possible, inversions are not
    assert pauses == sorted(pauses), actions
    assert unpauses == sorted(unpauses), actions
    assert max(pauses) <= min(unpauses)
    second = datetime.timedelta(seconds=1)
    assert opened - second <= min(pauses) and max(unpauses) <= closed + second
    # the engine's record agrees: pauses in group order, unpauses in reverse
    recorded = {s["name"]: s for s in cp["resources"]["servers"]}
    paused_at = [_time(recorded[vnf.name(n)]["paused_at"]) for n in order]
    unpaused_at = [_time(recorded[vnf.name(n)]["unpaused_at"]) for n in reversed(order)]
    assert paused_at == sorted(paused_at) and unpaused_at == sorted(unpaused_at)

    # every snapshot made by Cinder while every server was paused
    last_pause = max(paused_at)
    first_unpause = min(unpaused_at)
    for vol in cp["resources"]["volumes"]:
        assert vol["status"] == "exported", vol
        created = _time(vol["snapshot_created_at"])
        assert max(pauses) <= created + second and created <= min(unpauses) + second, vol
        assert last_pause <= _time(vol["snapshot_available_at"]) <= first_unpause, vol
        assert vol["snapshot_deleted"] is True and not vol.get("cleanup_error"), vol
    assert window["seconds"] >= window["slowest_snapshot_seconds"]
    # temporaries cleaned: no snapshot of this checkpoint left in Cinder
    assert vnf.snapshots_named(cp["id"]) == []

    # backups: in the shared posix store, and imported (available) in RegionTwo
    admin1 = vnf.cloud.admin_connection(R1).block_storage
    admin2 = vnf.cloud.admin_connection(R2).block_storage
    store = vnf.cloud.layout.backup_dir
    for vol in cp["resources"]["volumes"]:
        backup = admin1.get_backup(vol["backup_id"])
        assert backup.status == "available" and not backup.is_incremental
        assert list((store / backup.container).rglob("*")), backup.container
        imported = admin2.get_backup(vol["imported_backup_id"])
        assert imported.status == "available" and imported.container == backup.container

    # the second checkpoint: incremental, its parent recorded (and Cinder's parent the same)
    cp2 = stack.checkpoint(plan)
    vnf.checkpoints.append(cp2["id"])
    assert cp2["status"] == "completed", cp2["error"]
    assert cp2["parent_id"] == cp["id"]
    first = {v["id"]: v for v in cp["resources"]["volumes"]}
    for vol in cp2["resources"]["volumes"]:
        assert vol["incremental"] is True and vol["is_incremental"] is True, vol
        assert vol["parent_backup_id"] == first[vol["id"]]["backup_id"]
        assert admin1.get_backup(vol["backup_id"]).parent_id == vol["parent_backup_id"]
        assert vol["chain_length"] == 2
    assert vnf.snapshots_named(cp2["id"]) == []
    _assert_all_active(vnf)


def test_retention_deletes_the_oldest_checkpoint(vnf):
    stack = vnf.stack
    plan = stack.plan("vnf-app", [[vnf.name("app-1")]], retention=1)
    first = stack.checkpoint(plan)
    vnf.checkpoints.append(first["id"])
    assert first["status"] == "completed", first["error"]
    second = stack.checkpoint(plan)
    vnf.checkpoints.append(second["id"])
    assert second["status"] == "completed", second["error"]
    # retention 1: chains of one backup (full), and the older checkpoint deleted
    assert [v["incremental"] for v in second["resources"]["volumes"]] == [False]
    assert second["resources"]["retention_deleted"] == [first["id"]]
    status, _ = stack.call("GET", f"/v2/checkpoints/{first['id']}")
    assert status == 404
    vnf.checkpoints.remove(first["id"])
    old = first["resources"]["volumes"][0]
    for region, key in ((R1, "backup_id"), (R2, "imported_backup_id")):
        admin = vnf.cloud.admin_connection(region).block_storage

        def gone(admin=admin, backup_id=old[key]):
            try:
                return admin.get_backup(backup_id).status == "deleted"
            except openstack.exceptions.NotFoundException:
                return True

        wait_for(gone, timeout=120, what=f"backup {old[key]} deleted in {region}", interval=1)
    admin = vnf.cloud.admin_connection(R1).block_storage
    assert admin.get_backup(second["resources"]["volumes"][0]["backup_id"]).status == \
        "available"


def test_engine_killed_inside_the_window_unpauses_on_restart(vnf):
    stack = vnf.stack
    plan = stack.plan("vnf-kill", [[vnf.name("db-1")], [vnf.name("app-1")]])
    stack.kill_engine()
    stack.start_engine(hold=True)
    cp_id = stack.start_checkpoint(plan)
    vnf.checkpoints.append(cp_id)

    def held():
        cp = stack.checkpoint_row(cp_id)
        assert cp["status"] not in ("completed", "failed"), cp
        res = cp["resources"] or {}
        return cp if res.get("servers") and all(
            s["pause"] == "paused" for s in res["servers"]) and all(
            v.get("snapshot_id") for v in res["volumes"]) else None

    wait_for(held, timeout=180, what="the window held open", interval=0.5)
    statuses = vnf.statuses()
    assert statuses["db-1"] == statuses["app-1"] == "PAUSED", statuses
    stack.kill_engine()
    t0 = time.monotonic()
    stack.start_engine()
    cp = stack.finished(cp_id, timeout=120)
    print(f"interrupted window recovered {time.monotonic() - t0:.1f} s after the restart")
    assert cp["status"] == "failed"
    assert cp["error"].startswith("the engine stopped inside the pause window; servers "
                                  "unpaused: ")
    ids = [vnf.servers[n].id for n in ("app-1", "db-1")]   # reverse group order
    assert cp["error"].endswith(", ".join(ids)), cp["error"]
    assert cp["window"]["interrupted"] is True
    _assert_all_active(vnf)
    for name in ("db-1", "app-1"):
        assert [a for a, _ in vnf.actions(name)][-2:] == ["pause", "unpause"]
    wait_for(lambda: vnf.snapshots_named(cp_id) == [], timeout=120,
             what="the window's snapshots deleted", interval=1)


def test_failing_snapshot_still_unpauses_and_is_named(vnf):
    stack = vnf.stack
    cinder = vnf.conn.block_storage
    bad = vnf.data["db-2"]
    plan = stack.plan("vnf-fail", [[vnf.name("db-1"), vnf.name("db-2")], [vnf.name("app-1")]])
    cinder.set_volume_metadata(bad, **{FAIL_KEY: "1"})
    try:
        cp = stack.checkpoint(plan)
    finally:
        cinder.delete_volume_metadata(bad, keys=[FAIL_KEY])
    vnf.checkpoints.append(cp["id"])
    assert cp["status"] == "failed"
    assert cp["error"].startswith(f"snapshot failed for volume {bad.id} of server "
                                  f"{vnf.name('db-2')} ("), cp["error"]
    failed = [v["id"] for v in cp["resources"]["volumes"] if v["status"] == "failed"]
    assert failed == [bad.id]
    _assert_all_active(vnf)
    for name in ("db-1", "db-2", "app-1"):
        assert [a for a, _ in vnf.actions(name)][-2:] == ["pause", "unpause"]
    recorded = [s["pause"] for s in cp["resources"]["servers"]]
    assert recorded == ["unpaused"] * 3
    wait_for(lambda: vnf.snapshots_named(cp["id"]) == [], timeout=120,
             what="the window's snapshots deleted", interval=1)
