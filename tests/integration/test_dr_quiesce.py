"""Method `quiesce` (issue 19, Option 1 with the guest agent) on the devcloud's full profile.

The issue's VNF (db-1, db-2 with a data volume each, then app-1), every server booted from
a volume whose image properties (Cinder's volume_image_metadata, set before the boot so
that Nova takes them as the instance's) say hw_qemu_guest_agent=yes and
os_require_quiesce=yes. app-1 is stopped first.

What is real here and what is not: Nova's API runs its own createImage path for
volume-backed servers (compute/api.py snapshot_volume_backed): for an ACTIVE server it
logs "Attempting to quiesce instance before volume snapshot." and makes a synchronous RPC
call to nova-compute's quiesce_instance, snapshots every attached volume through Cinder,
and casts unquiesce_instance, which waits until the snapshots left `creating`. The
devcloud's compute driver is Nova's fake one, whose quiesce() and unquiesce() do nothing
and never fail: no guest file system is frozen, and a quiesce never fails (with libvirt a
guest whose agent does not answer would fail createImage under os_require_quiesce). A
SHUTOFF server is never quiesced (Nova's rule: only ACTIVE ones), which the checkpoint
records as quiesced false.
"""

from __future__ import annotations

import pytest

from multisite.clients import dr as dr_client
from multisite.objects import checkpoints, protection_plans
from tests.integration import test_dr_checkpoints as base
from tests.integration import test_dr_vm_snapshot as vm_snapshot
from tests.integration.dr_vnf import (
    admin_project_id,
    admin_teardown,
    boot_vnf,
    run_checkpoint,
    unlimited_volumes,
)
from tests.integration.usage import unique
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]
R1, R2 = base.R1, base.R2
full_conf = base.full_conf
PROPERTIES = {"hw_qemu_guest_agent": "yes", "os_require_quiesce": "yes"}
ATTEMPT = "Attempting to quiesce instance before volume snapshot"
SKIP = "Skipping quiescing instance"


@pytest.fixture(scope="module")
def qvnf(devcloud_full):
    cloud = devcloud_full
    project = cloud.create_project(unique("dr19q"))
    unlimited_volumes(cloud, admin_project_id(cloud))
    unlimited_volumes(cloud, project.id, regions=(R1,))
    teardown, servers, volumes = None, {}, {}
    try:
        servers, volumes, teardown = boot_vnf(project.connect(R1), base.NAMES,
                                              data=("db-1", "db-2"), cidr="10.66.0.0/24",
                                              wait=600, boot_properties=PROPERTIES)
        yield type("Vnf", (), {"project": project, "servers": servers, "volumes": volumes})
    finally:
        if teardown is not None:
            admin_teardown(cloud, servers, volumes, teardown)
        cloud.delete_project(project)


def _nova_log(cloud):
    return cloud.base / "logs" / "r1-nova.log"


def _quiesce_lines(text, server_id):
    return [line for line in text.splitlines()
            if f"[instance: {server_id}]" in line and "quiesc" in line.lower()]


def test_quiesce_checkpoint_of_the_vnf(devcloud_full, full_conf, qvnf):
    source, target = dr_client.for_region(full_conf, R1), dr_client.for_region(full_conf, R2)
    admin = devcloud_full.admin_connection(R1)
    app1 = qvnf.servers["app-1"]
    admin.compute.stop_server(app1.id)
    wait_for(lambda: source.server(app1.id)["status"] == "SHUTOFF" or None, timeout=120,
             what="app-1 SHUTOFF", interval=1)
    groups = [[qvnf.servers["db-1"].name, qvnf.servers["db-2"].name], [app1.name]]
    plan = protection_plans.create(
        full_conf, project_id=qvnf.project.id, user_id=qvnf.project.user_id,
        name=unique("dr19q"), source_region=R1, backup_region=R2, groups=groups,
        method="quiesce", retention=2)
    env = vm_snapshot._env(full_conf)
    base.plan_kind.reconcile(base.Key(base.plan_kind.KIND, plan["id"], R1), env)
    found = protection_plans.get(full_conf, plan["id"])
    assert found["status"] == "ready", found["problems"]
    log = _nova_log(devcloud_full)
    offset = log.stat().st_size
    cp = checkpoints.create(full_conf, plan["id"])
    try:
        done = run_checkpoint(full_conf, env, cp["id"])
        assert done["status"] == "completed", done["error"]
        servers = {s["name"]: s for s in done["resources"]["servers"]}
        by_role = {role: servers[s.name] for role, s in qvnf.servers.items()}
        # what the checkpoint recorded, from Nova's rules
        assert by_role["db-1"]["quiesced"] is True and by_role["db-2"]["quiesced"] is True
        assert by_role["app-1"]["quiesced"] is False
        assert "SHUTOFF" in by_role["app-1"]["quiesce_evidence"]
        # what Nova's API did: a quiesce attempted for each ACTIVE server and not skipped,
        # none for the stopped one
        with log.open() as stream:
            stream.seek(offset)
            text = stream.read()
        for role in ("db-1", "db-2"):
            lines = _quiesce_lines(text, qvnf.servers[role].id)
            assert any(ATTEMPT in line for line in lines), (role, lines)
            assert not any(SKIP in line for line in lines), (role, lines)
        assert _quiesce_lines(text, app1.id) == []
        for role, server in qvnf.servers.items():
            actions = [a for a, t in source.instance_actions(server.id)
                       if base._seconds(t) >= base._seconds(done["created_at"].isoformat())]
            assert "createImage" in actions and "pause" not in actions, (role, actions)
        # plan order: app-1's createImage only after every db snapshot was available
        db_done = max(by_role[r]["snapshots_available_at"] for r in ("db-1", "db-2"))
        assert by_role["app-1"]["image_requested_at"] >= db_done
        volumes = done["resources"]["volumes"]
        assert len(volumes) == 5 and {v["status"] for v in volumes} == {"exported"}
        for volume in volumes:
            server = next(s for s in servers.values() if s["id"] == volume["server_id"])
            # Cinder's creation time of Nova's snapshot: inside the server's createImage
            # request .. snapshots available (to the second: Cinder keeps seconds)
            assert base._seconds(server["image_requested_at"]) <= base._seconds(
                volume["snapshot_created_at"]) <= base._seconds(
                server["snapshots_available_at"]), (volume, server)
            assert volume["snapshot_id"] in server["snapshot_ids"]
            assert target.backup(volume["imported_backup_id"])["status"] == "available"
            wait_for(lambda v=volume: source.snapshot(v["snapshot_id"]) is None or None,
                     timeout=180, what="Nova's snapshot deleted", interval=2)
        assert all(s["image_deleted"] and source.image(s["image_id"]) is None
                   for s in servers.values())
        window = done["window"]
        groups_seen = [(g["servers"], g["seconds"], g["slowest_snapshot_seconds"])
                       for g in window["groups"]]
        per_server = {n: (s["quiesced"], s["quiesce_window_seconds"])
                      for n, s in servers.items()}
        print(f"quiesce checkpoint: window {window['seconds']:.3f} s, slowest snapshot "  # noqa: T201
              f"{window['slowest_snapshot_seconds']:.3f} s; groups {groups_seen}; "
              f"per server {per_server}")
    finally:
        base._delete_backups(full_conf, [checkpoints.get(full_conf, cp["id"])])
        protection_plans.delete(full_conf, plan["id"])
