"""A VNF on the devcloud's full profile for the DR tests and bench.dr: servers booted from
volumes (Nova makes each boot volume from the devcloud image), some with a data volume
attached; the configuration the DR kinds run with in the test process (dr_conf), and the
admin's cleanup of a VNF (admin_teardown)."""

from __future__ import annotations

import contextlib
import time
import types

from multisite.devcloud import full_setup
from multisite.engine import dr as dr_env
from multisite.objects import checkpoints, restores
from multisite.reconcilers import Key, PermanentError, TemporaryError
from multisite.reconcilers.dr import checkpoint as cp_kind
from multisite.reconcilers.dr import restore as restore_kind
from tests.integration.usage import create_keypair, create_network, create_subnet, unique
from tests.polling import wait_for


def boot_vnf(conn, names, *, data=(), cidr="10.61.0.0/24", wait=300, boot_properties=None):
    """({name: server}, {name: data volume}, teardown()); servers named name-<suffix>.

    Everything is requested at once, then waited for. teardown() deletes the servers (their
    boot volumes with them), then the data volumes, the keypair and the network.
    boot_properties: image properties (e.g. hw_qemu_guest_agent) set on each boot volume
    (Cinder's volume_image_metadata) before its server boots from it, so that Nova takes
    them as the instance's image properties.
    """
    cleanups = []
    servers, volumes, boots = {}, {}, {}

    def teardown():
        for server in servers.values():
            with contextlib.suppress(Exception):
                conn.compute.delete_server(server, ignore_missing=True)
        for server in servers.values():
            with contextlib.suppress(Exception):
                conn.compute.wait_for_delete(server, wait=120)
        for vol in [*volumes.values(), *boots.values()]:
            with contextlib.suppress(Exception):
                conn.block_storage.wait_for_status(vol, "available", wait=60)
            try:       # a force-delete is refused for a volume in error (seen on the devcloud)
                conn.block_storage.delete_volume(vol, ignore_missing=True)
            except Exception:
                with contextlib.suppress(Exception):
                    conn.block_storage.delete_volume(vol, ignore_missing=True, force=True)
        for fn in reversed(cleanups):
            with contextlib.suppress(Exception):
                fn()

    try:
        net = create_network(conn)
        cleanups.append(lambda: conn.network.delete_network(net, ignore_missing=True))
        subnet = create_subnet(conn, net, cidr=cidr)
        cleanups.append(lambda: conn.network.delete_subnet(subnet, ignore_missing=True))
        keypair = create_keypair(conn, name=unique("key"))
        cleanups.append(lambda: conn.compute.delete_keypair(keypair, ignore_missing=True))
        flavor = conn.compute.find_flavor(full_setup.FLAVOR, ignore_missing=False)
        image = conn.image.find_image(full_setup.IMAGE, ignore_missing=False)
        suffix = unique("")[-6:]
        if boot_properties:
            for name in names:
                boots[name] = conn.block_storage.create_volume(
                    size=1, image_id=image.id, name=f"{name}-boot-{suffix}")
            for vol in boots.values():
                conn.block_storage.wait_for_status(vol, "available", failures=["error"],
                                                   wait=wait)
                conn.block_storage.set_volume_image_metadata(vol, **boot_properties)
        for name in names:
            source = ({"uuid": boots[name].id, "source_type": "volume"} if boot_properties
                      else {"uuid": image.id, "source_type": "image", "volume_size": 1})
            servers[name] = conn.compute.create_server(
                name=f"{name}-{suffix}", flavor_id=flavor.id, key_name=keypair.name,
                networks=[{"uuid": net.id}], block_device_mapping=[{
                    "boot_index": 0, "destination_type": "volume",
                    "delete_on_termination": True, **source}])
        for name in data:
            volumes[name] = conn.block_storage.create_volume(size=1,
                                                             name=f"{name}-data-{suffix}")
        for name, server in servers.items():
            servers[name] = conn.compute.wait_for_server(server, status="ACTIVE", wait=wait,
                                                         interval=1)
        for name, vol in volumes.items():
            conn.block_storage.wait_for_status(vol, "available", failures=["error"], wait=120)
            conn.compute.create_volume_attachment(servers[name], volume_id=vol.id)
        for vol in volumes.values():
            conn.block_storage.wait_for_status(vol, "in-use", failures=["error"], wait=120)
    except BaseException:
        teardown()
        raise
    return servers, volumes, teardown


def dr_conf(conf, cloud, *, poll_interval, region_timeout=None):
    """`conf` set for the DR kinds run in this process against the full devcloud: the
    service account (the devcloud's admin) on the Keystone RegionOne's catalog names, `[dr]
    poll_interval` and, if given, `[cache] region_timeout` (the shared devcloud under load
    answered a snapshot request after more than the default 10 s). Returns `conf`."""
    url = cloud.connect(None, "RegionOne").session.get_endpoint(service_type="identity",
                                                                interface="public")
    for name, value in (("auth_uri", url.rstrip("/") + ("" if url.endswith("/v3") else "/v3")),
                        ("admin_username", "admin"), ("admin_password", "adminpw"),
                        ("admin_tenant", "admin")):
        conf.set_override(name, value, group="cache")
    conf.set_override("poll_interval", poll_interval, group="dr")
    if region_timeout is not None:
        conf.set_override("region_timeout", region_timeout, group="cache")
    return conf


def admin_teardown(cloud, servers, volumes, teardown, region="RegionOne"):
    """Delete a VNF boot_vnf() made: its servers by the admin first (Nova deleting the ports
    with the member's token was refused by Neutron on the devcloud: delete_port policy,
    servers in ERROR), the Cinder attachments the devcloud leaves behind deleted servers
    removed, the boot volumes deleted, then teardown() (data volumes, keypair, network)."""
    admin = cloud.admin_connection(region)
    for server in servers.values():
        with contextlib.suppress(Exception):
            admin.compute.delete_server(server.id, ignore_missing=True)
    for server in servers.values():
        with contextlib.suppress(Exception):
            admin.compute.wait_for_delete(server, wait=180)
    cinder = admin.block_storage
    data = [v.id for v in volumes.values()]
    boot = [v["id"] for s in servers.values() for v in s.attached_volumes or []
            if v["id"] not in data]
    for vid in boot + data:
        with contextlib.suppress(Exception):
            for att in cinder.get(f"/volumes/{vid}").json()["volume"]["attachments"]:
                cinder.delete(f"/attachments/{att['attachment_id']}",
                              headers={"OpenStack-API-Version": "volume 3.27"})
    for vid in boot:      # the data volumes: teardown() deletes them
        with contextlib.suppress(Exception):
            cinder.wait_for_status(cinder.get_volume(vid), "available", wait=60)
            cinder.delete_volume(vid)
    teardown()


def run_checkpoint(conf, env, checkpoint_id, region="RegionOne", timeout=900):
    """The checkpoint kind's reconcile in this process until the checkpoint ends (as an
    engine would, after each outcome's delay): the checkpoint as it ended."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            delay = cp_kind.reconcile(Key(cp_kind.KIND, checkpoint_id, region), env).delay or 0
        except TemporaryError as exc:
            delay = exc.delay or 1.0
        except PermanentError:
            delay = 0
        found = checkpoints.get(conf, checkpoint_id)
        if found["status"] in ("completed", "failed"):
            return found
        assert time.monotonic() < deadline, f"checkpoint {checkpoint_id} still {found}"
        time.sleep(delay)


def run_restore(conf, restore_id, region="RegionTwo", timeout=900):
    """The restore kind's reconcile in this process until the restore ends (as an engine
    would): the restore as it ended, completed or failed."""
    env = types.SimpleNamespace(shared=dr_env.DrEnv(conf), attempts=1, item=None)

    def finished():
        try:
            restore_kind.reconcile(Key(restore_kind.KIND, restore_id, region), env)
        except PermanentError:
            pass
        found = restores.get(conf, restore_id)
        return found if found["status"] in ("completed", "failed") else None

    return wait_for(finished, timeout=timeout, what="restore", interval=2)


def delete_restore(conf, target, restore_id):
    """Delete what a restore made in its region (servers, their volumes and attachments,
    the imported backups, ports, networks, the security groups it made, the keypairs it
    gave the plan's and the service user), from its report; errors are ignored."""
    found = restores.get(conf, restore_id)
    report = (found or {}).get("resources") or {}
    with contextlib.suppress(Exception):
        for server in report.get("servers", []):
            if server.get("id"):
                target._nova.delete(f"/servers/{server['id']}", raise_exc=False)
        for server in report.get("servers", []):
            if server.get("id"):
                wait_for(lambda s=server: target._nova.get(
                    f"/servers/{s['id']}", raise_exc=False).status_code == 404 or None,
                    timeout=120, what="server deleted", interval=2)
    for volume in report.get("volumes", []):
        with contextlib.suppress(Exception):
            vid = volume.get("volume_id")
            for att in target._cinder.get(f"/volumes/{vid}").json()["volume"]["attachments"]:
                target._cinder.delete(f"/attachments/{att['attachment_id']}", raise_exc=False)
            wait_for(lambda v=vid: target.volume(v)["status"] == "available" or None,
                     timeout=120, what="volume detached", interval=2)
            target._cinder.delete(f"/volumes/{vid}", raise_exc=False)
        with contextlib.suppress(Exception):
            target.delete_backup(volume["backup_id"])
    for server in report.get("servers", []):
        for port in server.get("ports", []):
            with contextlib.suppress(Exception):
                target._neutron.delete(f"/v2.0/ports/{port['id']}", raise_exc=False)
    for net in report.get("networks", []):
        with contextlib.suppress(Exception):
            target._neutron.delete(f"/v2.0/networks/{net['id']}", raise_exc=False)
    groups = (report.get("scope") or {}) and target._neutron.get(
        f"/v2.0/security-groups?project_id={report['scope']['project_id']}").json()[
        "security_groups"]
    made = {n for e in report.get("security_groups", [])
            for n in (e.get("target_id") or "").split(",") if n}
    for raw in groups or []:
        if raw["name"] in made and raw["name"] != "default":
            with contextlib.suppress(Exception):
                target._neutron.delete(f"/v2.0/security-groups/{raw['id']}",
                                       raise_exc=False)
    boot_user = (report.get("scope") or {}).get("service_user_id")
    for key in report.get("keypairs", []):
        for user_id in {key["user_id"], boot_user} - {None}:
            with contextlib.suppress(Exception):
                target._nova.delete(f"/os-keypairs/{key['name']}?user_id={user_id}",
                                    raise_exc=False)


def unlimited_volumes(cloud, project_id, regions=("RegionOne", "RegionTwo")):
    """Cinder quotas without limits for one project (the VNF's, or the admin project that
    owns the checkpoints' snapshots and backups: docs/dr.md, "Ownership of the copies")."""
    body = {"quota_set": {name: -1 for name in (
        "volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes")}}
    for region in regions:
        cinder = cloud.admin_connection(region).block_storage
        resp = cinder.put(f"/os-quota-sets/{project_id}", json=body)
        assert resp.status_code == 200, resp.text


def admin_project_id(cloud):
    return cloud.admin_connection().identity.find_project(cloud.admin.project_name,
                                                          ignore_missing=False).id
