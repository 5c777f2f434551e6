"""A VNF on the devcloud's full profile for the DR tests and bench.dr: servers booted from
volumes (Nova makes each boot volume from the devcloud image), some with a data volume
attached."""

from __future__ import annotations

import contextlib

from multisite.devcloud import full_setup
from tests.integration.usage import create_keypair, create_network, create_subnet, unique


def boot_vnf(conn, names, *, data=(), cidr="10.61.0.0/24", wait=300):
    """({name: server}, {name: data volume}, teardown()); servers named name-<suffix>.

    Everything is requested at once, then waited for. teardown() deletes the servers (their
    boot volumes with them), then the data volumes, the keypair and the network.
    """
    cleanups = []
    servers, volumes = {}, {}

    def teardown():
        for server in servers.values():
            with contextlib.suppress(Exception):
                conn.compute.delete_server(server, ignore_missing=True)
        for server in servers.values():
            with contextlib.suppress(Exception):
                conn.compute.wait_for_delete(server, wait=120)
        for vol in volumes.values():
            with contextlib.suppress(Exception):
                conn.block_storage.wait_for_status(vol, "available", wait=60)
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
        for name in names:
            servers[name] = conn.compute.create_server(
                name=f"{name}-{suffix}", flavor_id=flavor.id, key_name=keypair.name,
                networks=[{"uuid": net.id}], block_device_mapping=[{
                    "boot_index": 0, "uuid": image.id, "source_type": "image",
                    "destination_type": "volume", "volume_size": 1,
                    "delete_on_termination": True}])
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
