"""Smoke test of the devcloud's full profile: servers, volumes, backups across regions, L3."""

from __future__ import annotations

import contextlib
import time

import pytest
import requests

from multisite.devcloud import full_setup
from multisite.devcloud import layout as L
from tests.integration.notifications import Listener
from tests.integration.usage import create_network, create_subnet, unique
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]

MARKER = b"multisite-devcloud-full-marker\n"


def volume_file(cloud, region: str, volume_id: str):
    """The NFS driver keeps a volume as a file in the region's (bind-mounted) export."""
    return cloud.base / f"r{L.region_index(region)}" / "nfs-export" / f"volume-{volume_id}"


def wait_status(get, want: str, timeout: float = 120.0, what: str = ""):
    def check():
        obj = get()
        status = getattr(obj, "status", None)
        assert status not in ("error", "ERROR", "error_restoring"), f"{what}: {status}"
        return obj if status == want else None

    return wait_for(check, timeout=timeout, what=f"{what} to be {want}", interval=1)


@pytest.fixture
def project(devcloud_full):
    p = devcloud_full.create_project()
    cleanups: list = []
    yield p, cleanups
    for fn in reversed(cleanups):
        with contextlib.suppress(Exception):
            fn()
    devcloud_full.delete_project(p)


def boot(cloud, conn, region: str, cleanups: list):
    net = create_network(conn)
    cleanups.append(lambda: conn.network.delete_network(net, ignore_missing=True))
    subnet = create_subnet(conn, net, cidr="10.60.0.0/24")
    cleanups.append(lambda: conn.network.delete_subnet(subnet, ignore_missing=True))
    flavor = conn.compute.find_flavor(full_setup.FLAVOR, ignore_missing=False)
    image = conn.image.find_image(full_setup.IMAGE, ignore_missing=False)
    t0 = time.monotonic()
    server = conn.compute.create_server(name=unique("vm"), flavor_id=flavor.id,
                                        image_id=image.id, networks=[{"uuid": net.id}])
    cleanups.append(lambda: conn.compute.delete_server(server, ignore_missing=True))
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=180, interval=1)
    took = time.monotonic() - t0
    ips = [a["addr"] for addrs in server.addresses.values() for a in addrs]
    assert ips and ips[0].startswith("10.60.0."), server.addresses
    print(f"{region}: server ACTIVE in {took:.1f} s, ip {ips[0]}")
    return server, net, subnet


def test_full_profile_smoke(devcloud_full, project):
    cloud = devcloud_full
    test_project, cleanups = project
    r1, r2 = cloud.regions[:2]
    listeners = {r: Listener(cloud.transport_url(r)) for r in (r1, r2)}
    seen = {r: lst.__enter__() for r, lst in listeners.items()}
    try:
        servers = {}
        for region in (r1, r2):
            conn = test_project.connect(region)
            servers[region] = boot(cloud, conn, region, cleanups)

        # the fake hypervisor follows state changes
        conn = test_project.connect(r1)
        server1 = servers[r1][0]
        conn.compute.stop_server(server1)
        conn.compute.wait_for_server(server1, status="SHUTOFF", wait=120, interval=1)
        conn.compute.start_server(server1)
        conn.compute.wait_for_server(server1, status="ACTIVE", wait=120, interval=1)

        # volumes in RegionOne: available, real data in the file, backup, snapshot, attach
        cinder = conn.block_storage
        t0 = time.monotonic()
        vol = cinder.create_volume(size=1, name=unique("vol"))
        cleanups.append(lambda: cinder.delete_volume(vol, ignore_missing=True, force=True))
        vol = wait_status(lambda: cinder.get_volume(vol), "available", what="volume")
        print(f"{r1}: volume available in {time.monotonic() - t0:.1f} s")
        path = volume_file(cloud, r1, vol.id)
        with open(path, "r+b") as fh:
            fh.write(MARKER)

        backup = cinder.create_backup(volume_id=vol.id, name=unique("backup"))
        cleanups.append(lambda: cinder.delete_backup(backup, ignore_missing=True, force=True))
        backup = wait_status(lambda: cinder.get_backup(backup), "available", what="backup")

        snap = cinder.create_snapshot(volume_id=vol.id, name=unique("snap"))
        cleanups.append(lambda: cinder.delete_snapshot(snap, ignore_missing=True, force=True))
        wait_status(lambda: cinder.get_snapshot(snap), "available", what="snapshot")

        conn.compute.create_volume_attachment(server1, volume_id=vol.id)
        wait_status(lambda: cinder.get_volume(vol), "in-use", what="attached volume")

        # cross-site restore: export the record in RegionOne, import it in RegionTwo
        admin1 = cloud.admin_connection(r1).block_storage
        record = admin1.get(f"/backups/{backup.id}/export_record").json()["backup-record"]
        admin2 = cloud.admin_connection(r2).block_storage
        resp = admin2.post("/backups/import_record", json={"backup-record": record})
        assert resp.status_code == 201, resp.text
        imported = resp.json()["backup"]["id"]
        cleanups.append(lambda: admin2.delete(f"/backups/{imported}"))
        wait_status(lambda: admin2.get_backup(imported), "available", what="imported backup")
        resp = admin2.post(f"/backups/{imported}/restore", json={"restore": {"name": unique()}})
        assert resp.status_code == 202, resp.text
        restored = resp.json()["restore"]["volume_id"]
        cleanups.append(lambda: admin2.delete_volume(restored, ignore_missing=True, force=True))
        wait_status(lambda: admin2.get_volume(restored), "available", timeout=180,
                    what="restored volume")
        with open(volume_file(cloud, r2, restored), "rb") as fh:
            assert fh.read(len(MARKER)) == MARKER

        # L3 in RegionOne: router with gateway, interface and an extra route; a floating IP
        net1 = conn.network
        external = net1.find_network(full_setup.EXTERNAL_NETWORK, ignore_missing=False)
        router = net1.create_router(name=unique("router"),
                                    external_gateway_info={"network_id": external.id})
        cleanups.append(lambda: net1.delete_router(router, ignore_missing=True))
        _, _, subnet1 = servers[r1]
        net1.add_interface_to_router(router, subnet_id=subnet1.id)
        cleanups.append(lambda: net1.remove_interface_from_router(router, subnet_id=subnet1.id))
        router = net1.update_router(router, routes=[
            {"destination": "192.168.77.0/24", "nexthop": "10.60.0.254"}])
        assert router.routes == [{"destination": "192.168.77.0/24", "nexthop": "10.60.0.254"}]
        port = next(iter(net1.ports(device_id=server1.id)))
        assert port.binding_vif_type == "ovs" or port.status in ("DOWN", "ACTIVE")
        fip = net1.create_ip(floating_network_id=external.id, port_id=port.id)
        cleanups.append(lambda: net1.delete_ip(fip, ignore_missing=True))
        assert fip.port_id == port.id and fip.floating_ip_address.startswith("172.24.4.")

        # every kind of notification, on each region's own bus
        for region in (r1, r2):
            server = servers[region][0]
            seen[region].wait_for("compute.instance.create.end",
                                  lambda p, s=server: p["instance_id"] == s.id)
            seen[region].wait_for("network.create.end",
                                  lambda p, n=servers[region][1]: p["network"]["id"] == n.id)
        seen[r1].wait_for("volume.create.end", lambda p: p["volume_id"] == vol.id)
        seen[r1].wait_for("backup.create.end", lambda p: p["backup_id"] == backup.id)
        seen[r1].wait_for("snapshot.create.end", lambda p: p["snapshot_id"] == snap.id)
        seen[r1].wait_for("volume.attach.end", lambda p: p["volume_id"] == vol.id)
        seen[r1].wait_for("router.create.end", lambda p: p["router"]["id"] == router.id)
        seen[r1].wait_for("floatingip.create.end", lambda p: p["floatingip"]["id"] == fip.id)
        seen[r2].wait_for("backup.restore.end", lambda p: p["backup_id"] == imported)
        assert not seen[r2].matching("volume.create.end", lambda p: p["volume_id"] == vol.id)
    finally:
        for lst in listeners.values():
            lst.__exit__(None, None, None)


def test_second_keystone_shares_db_not_key_directory(devcloud_full):
    """RegionTwo's keystone: same database and keys (copied), its own key repository."""
    cloud = devcloud_full
    ks1 = cloud.keystone_url
    ks2 = L.keystone_url(cloud.layout.port_offset, 2)
    assert cloud.endpoint("identity", "RegionTwo").rstrip("/") == ks2
    assert cloud.endpoint("identity", "RegionOne").rstrip("/") == ks1
    token = cloud.token()  # issued by the first keystone
    for url in (ks1, ks2):
        resp = requests.get(f"{url}/auth/tokens", timeout=30,
                            headers={"X-Auth-Token": token, "X-Subject-Token": token})
        assert resp.status_code == 200, (url, resp.text)
    # a project made through one is seen by the other (one database)
    project = cloud.create_project()
    try:
        resp = requests.get(f"{ks2}/projects/{project.id}", timeout=30,
                            headers={"X-Auth-Token": token})
        assert resp.status_code == 200, resp.text
    finally:
        cloud.delete_project(project)
    keys1, keys2 = cloud.base / "keystone" / "fernet-keys", cloud.base / "keystone2" / "fernet-keys"
    assert keys1.resolve() != keys2.resolve() and not keys2.is_symlink()
    assert sorted(p.name for p in keys1.iterdir()) == sorted(p.name for p in keys2.iterdir())
