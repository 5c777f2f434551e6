"""Method `vm-snapshot` (issue 19, Option 2) on the devcloud's full profile.

* The DR client's image calls on real Nova and Glance: createImage of a server booted from
  an image, the image read back, found by name and deleted. Nova's fake driver never
  uploads such a server's snapshot (the image stays `queued`), so a checkpoint of an
  image-backed server fails after `[dr] snapshot_timeout` on the devcloud; it is checked
  here that it does so and leaves nothing behind.
* A checkpoint of the issue's VNF (test_dr_checkpoints.py's: db-1, db-2 booted from
  volumes with a data volume each, then app-1): Nova's createImage per server (Nova's
  instance actions show it, never a pause), the volume snapshots Nova made backed up and
  imported in RegionTwo, the images (references only) and the snapshots deleted.
"""

from __future__ import annotations

import contextlib
import types

import pytest

from multisite.clients import dr as dr_client
from multisite.devcloud import full_setup
from multisite.engine import dr as dr_env
from multisite.objects import checkpoints, protection_plans
from multisite.reconcilers import Key
from multisite.reconcilers.dr import plan as plan_kind
from tests.integration import test_dr_checkpoints as base
from tests.integration.dr_vnf import run_checkpoint
from tests.integration.usage import create_network, create_subnet, unique
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]
R1, R2 = base.R1, base.R2
vnf, full_conf = base.vnf, base.full_conf     # the module-scoped VNF, the service config


@pytest.fixture
def image_server(devcloud_full):
    """A server booted from the devcloud image (no volume) in a project of its own."""
    project = devcloud_full.create_project(unique("vms19"))
    conn = project.connect(R1)
    net = create_network(conn)
    subnet = create_subnet(conn, net, cidr="10.64.0.0/24")
    flavor = conn.compute.find_flavor(full_setup.FLAVOR, ignore_missing=False)
    image = conn.image.find_image(full_setup.IMAGE, ignore_missing=False)
    server = conn.compute.create_server(name=unique("img"), flavor_id=flavor.id,
                                        image_id=image.id, networks=[{"uuid": net.id}])
    try:
        yield project, conn.compute.wait_for_server(server, status="ACTIVE", wait=300,
                                                    interval=1)
    finally:
        admin = devcloud_full.admin_connection(R1)
        with contextlib.suppress(Exception):
            admin.compute.delete_server(server.id)
            admin.compute.wait_for_delete(server, wait=180)
        for delete in (lambda: conn.network.delete_subnet(subnet),
                       lambda: conn.network.delete_network(net)):
            with contextlib.suppress(Exception):
                delete()
        devcloud_full.delete_project(project)


def test_image_calls_and_an_image_backed_server_on_the_fake_driver(full_conf, image_server):
    project, server = image_server
    source = dr_client.for_region(full_conf, R1)
    name = unique("ms-dr-client")
    image_id = source.create_image(server.id, name=name)
    try:
        assert source.find_images(name) == [image_id]
        image = source.image(image_id)
        assert image["name"] == name and image["block_device_mapping"] == []
        assert image["status"] in ("queued", "saving", "active")
        actions = [a for a, _ in source.instance_actions(server.id)]
        assert "createImage" in actions and "pause" not in actions
    finally:
        source.delete_image(image_id)
    assert source.image(image_id) is None and source.find_images(name) == []
    # a checkpoint of it: the image never leaves `queued` here, so it fails (bounded)
    full_conf.set_override("snapshot_timeout", 20, group="dr")
    plan = _plan(full_conf, project.id, project.user_id, [[server.name]])
    done = run_checkpoint(full_conf, _env(full_conf),
                          checkpoints.create(full_conf, plan["id"])["id"], timeout=300)
    assert done["status"] == "failed" and "after [dr] snapshot_timeout" in done["error"], done
    made = done["resources"]["servers"][0]["image_id"]
    assert source.image(made) is None
    assert source.server(server.id)["status"] == "ACTIVE"


def _env(conf):
    return types.SimpleNamespace(shared=dr_env.DrEnv(conf), attempts=1, item=None)


def _plan(conf, project_id, user_id, groups):
    plan = protection_plans.create(
        conf, project_id=project_id, user_id=user_id, name=unique("vms19"),
        source_region=R1, backup_region=R2, groups=groups, method="vm-snapshot",
        retention=2)
    plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], R1), _env(conf))
    found = protection_plans.get(conf, plan["id"])
    assert found["status"] == "ready", found["problems"]
    return found


def test_vm_snapshot_of_the_volume_backed_vnf(full_conf, vnf):
    source, target = dr_client.for_region(full_conf, R1), dr_client.for_region(full_conf, R2)
    groups = [[vnf.servers["db-1"].name, vnf.servers["db-2"].name], [vnf.servers["app-1"].name]]
    plan = _plan(full_conf, vnf.project.id, vnf.project.user_id, groups)
    cp = checkpoints.create(full_conf, plan["id"])
    try:
        done = run_checkpoint(full_conf, _env(full_conf), cp["id"])
        assert done["status"] == "completed", done["error"]
        assert base._all_active(source, vnf) == {n: "ACTIVE" for n in base.NAMES}
        for name, server in vnf.servers.items():
            actions = [a for a, t in source.instance_actions(server.id)
                       if base._seconds(t) >= base._seconds(done["created_at"].isoformat())]
            assert "createImage" in actions and "pause" not in actions, (name, actions)
        servers = done["resources"]["servers"]
        assert all(s["volume_backed"] and s["image_deleted"] for s in servers), servers
        assert all(source.image(s["image_id"]) is None for s in servers)
        volumes = done["resources"]["volumes"]
        assert len(volumes) == 5 and {v["status"] for v in volumes} == {"exported"}
        for volume in volumes:
            assert target.backup(volume["imported_backup_id"])["status"] == "available"
            # the snapshot Nova made for the image: deleted after its backup
            wait_for(lambda v=volume: source.snapshot(v["snapshot_id"]) is None or None,
                     timeout=180, what="Nova's snapshot deleted", interval=2)
        print("vm-snapshot checkpoint: " + ", ".join(  # noqa: T201
            f"{s['name']} image {s['image_requested_at']} -> {s['image_active_at']}"
            for s in servers))
    finally:
        base._delete_backups(full_conf, [checkpoints.get(full_conf, cp["id"])])
        protection_plans.delete(full_conf, plan["id"])
