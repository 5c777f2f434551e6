"""Smoke test of the devcloud's full profile: servers, volumes, backups across regions, L3."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time

import openstack
import pytest
import requests

from multisite.devcloud import configs, full_setup
from multisite.devcloud import layout as L
from multisite.devcloud import services as S
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


def qemu_img_info(path):
    out = subprocess.run(["qemu-img", "info", "--output=json", "-U", str(path)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


def first_bytes(path, n):
    """The first n bytes of the disk a qcow2 file (with its backing chain) holds."""
    out = path.parent / f"{path.name}.head"
    subprocess.run(["qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=512", "count=1",
                    f"if={path}", f"of={out}"], check=True, capture_output=True, timeout=60)
    try:
        return out.read_bytes()[:n]
    finally:
        out.unlink()


def wait_gone(cinder, snapshot_id, timeout=120.0):
    def gone():
        try:
            snap = cinder.get_snapshot(snapshot_id)
        except openstack.exceptions.NotFoundException:
            return True
        assert snap.status != "error_deleting", f"snapshot {snapshot_id} is error_deleting"
        return False

    wait_for(gone, timeout=timeout, what=f"snapshot {snapshot_id} deleted", interval=1)


def test_online_snapshots_of_an_attached_volume(devcloud_full, project):
    """Cinder's NFS driver asks Nova to take and delete snapshots of an attached volume
    (os-assisted-volume-snapshots); the devcloud's compute driver answers like libvirt:
    snapshots become available, and deleting them commits/rebases the qcow2 chain so that
    the data survives (docs/devcloud.md, "Online snapshots")."""
    cloud = devcloud_full
    test_project, cleanups = project
    r1 = cloud.regions[0]
    conn = test_project.connect(r1)
    server, _, _ = boot(cloud, conn, r1, cleanups)
    cinder = conn.block_storage
    vol = cinder.create_volume(size=1, name=unique("vol"))
    cleanups.append(lambda: cinder.delete_volume(vol, ignore_missing=True, force=True))
    vol = wait_status(lambda: cinder.get_volume(vol), "available", what="volume")
    base = volume_file(cloud, r1, vol.id)
    with open(base, "r+b") as fh:
        fh.write(MARKER)
    conn.compute.create_volume_attachment(server, volume_id=vol.id)
    cleanups.append(lambda: conn.compute.delete_volume_attachment(server, vol.id,
                                                                  ignore_missing=True))
    wait_status(lambda: cinder.get_volume(vol), "in-use", what="attached volume")

    snaps = []
    for _ in range(2):
        t0 = time.monotonic()
        snap = cinder.create_snapshot(volume_id=vol.id, name=unique("snap"), force=True)
        cleanups.append(lambda s=snap: cinder.delete_snapshot(s, ignore_missing=True))
        wait_status(lambda s=snap: cinder.get_snapshot(s), "available", what="online snapshot")
        print(f"online snapshot available in {time.monotonic() - t0:.1f} s")
        snaps.append(snap)
    # the chain Cinder made: volume <- .snap1 <- .snap2 (the guest's disk now)
    files = [base.with_name(f"{base.name}.{s.id}") for s in snaps]
    assert qemu_img_info(files[1])["backing-filename"] == files[0].name
    assert qemu_img_info(files[0])["backing-filename"] == base.name
    assert cinder.get_volume(vol).status == "in-use"

    # the older one: Nova commits its overlay into the base, the newer one is rebased onto it
    t0 = time.monotonic()
    cinder.delete_snapshot(snaps[0])
    wait_gone(cinder, snaps[0].id)
    print(f"online snapshot deleted in {time.monotonic() - t0:.1f} s (commit)")
    assert not files[0].exists()
    assert qemu_img_info(files[1])["backing-filename"] == base.name
    # the newer one (the active file): Nova pulls the base into it, Cinder removes the base
    t0 = time.monotonic()
    cinder.delete_snapshot(snaps[1])
    wait_gone(cinder, snaps[1].id)
    print(f"online snapshot deleted in {time.monotonic() - t0:.1f} s (rebase)")
    assert "backing-filename" not in qemu_img_info(files[1])
    assert not base.exists()
    assert first_bytes(files[1], len(MARKER)) == MARKER
    assert cinder.get_volume(vol).status == "in-use"

    # a volume marked for it: Nova reports the snapshot failed (the tests' fault injection)
    cinder.set_volume_metadata(vol, **{"devcloud-fail-snapshot": "1"})
    snap = cinder.create_snapshot(volume_id=vol.id, name=unique("snap"), force=True)
    cleanups.append(lambda: cinder.delete_snapshot(snap, ignore_missing=True))
    wait_for(lambda: cinder.get_snapshot(snap).status == "error", timeout=120,
             what="the marked volume's snapshot to fail", interval=1)
    cinder.delete_snapshot(snap)
    wait_gone(cinder, snap.id)
    assert cinder.get_volume(vol).status == "in-use"


def test_second_keystone_shares_db_not_key_directory(devcloud_full):
    """RegionTwo's keystone: same database and keys (copied), its own key repository."""
    cloud = devcloud_full
    ks1 = cloud.keystone_url
    ks2 = L.keystone_url(cloud.layout.port_offset, 2)
    assert cloud.endpoint("identity", "RegionTwo").rstrip("/") == ks2
    assert cloud.endpoint("identity", "RegionOne").rstrip("/") == ks1
    token = cloud.token()  # issued by the first keystone
    # ... and one issued by the second: each keystone validates the other's token
    resp = requests.post(f"{ks2}/auth/tokens", timeout=30, json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": cloud.admin.username, "password": cloud.admin.password,
            "domain": {"name": cloud.admin.user_domain_name}}}},
        "scope": {"project": {"name": cloud.admin.project_name,
                              "domain": {"name": cloud.admin.project_domain_name}}}}})
    assert resp.status_code == 201, resp.text
    token2 = resp.headers["X-Subject-Token"]
    assert token2 != token
    for url in (ks1, ks2):
        for subject in (token, token2):
            resp = requests.get(f"{url}/auth/tokens", timeout=30,
                                headers={"X-Auth-Token": token, "X-Subject-Token": subject})
            assert resp.status_code == 200, (url, resp.text)
    # the first keystone's services accept the second's token (RegionOne's nova)
    resp = requests.get(f"{cloud.endpoint('compute', 'RegionOne').rstrip('/')}/flavors",
                        timeout=30, headers={"X-Auth-Token": token2})
    assert resp.status_code == 200, resp.text
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


def test_trunk_vlan_and_routed_segments(devcloud_full, project):
    """Neutron's trunk and segments plugins with the VLAN ranges, on a real bound port.

    * a VLAN provider network on physnet1 with a segment id from the range (and a physnet
      Neutron does not know refused);
    * a trunk whose parent port is a server's port and whose subport is on that VLAN
      network, a second subport added and removed while the server runs;
    * a routed network: a physnet1 segment (the compute host's agent is wired to it) and a
      physnet2 segment (no host is); a port bound to the compute host gets its address
      from the physnet1 segment's subnet, an unbound port none (deferred).
    """
    cloud = devcloud_full
    _, cleanups = project
    region = cloud.regions[0]
    admin = cloud.admin_connection(region)
    net = admin.network
    host = next(a.host for a in net.agents(agent_type="Open vSwitch agent") if a.is_alive)

    def later(fn, *args, **kwargs):
        cleanups.append(lambda: fn(*args, **kwargs))

    # a VLAN network on physnet1, segment id from the range
    lo, hi = (int(x) for x in configs.VLAN_RANGE.split(":"))
    vlan = net.create_network(name=unique("vlan"), provider_network_type="vlan",
                              provider_physical_network=configs.PHYSNET,
                              provider_segmentation_id=lo + 50)
    later(net.delete_network, vlan, ignore_missing=True)
    assert (vlan.provider_network_type, vlan.provider_physical_network,
            vlan.provider_segmentation_id) == ("vlan", configs.PHYSNET, lo + 50)
    segments = list(net.segments(network_id=vlan.id))
    assert [(s.network_type, s.physical_network, s.segmentation_id) for s in segments] == [
        ("vlan", configs.PHYSNET, lo + 50)]
    vlan_subnet = net.create_subnet(network_id=vlan.id, ip_version=4, cidr="10.61.0.0/24")
    later(net.delete_subnet, vlan_subnet, ignore_missing=True)
    with pytest.raises(openstack.exceptions.BadRequestException):
        net.create_network(name=unique("vlan-bad"), provider_network_type="vlan",
                           provider_physical_network="physnet9",
                           provider_segmentation_id=lo)

    # a trunk: parent port on another VLAN network (a subport's MTU may not exceed its
    # parent's, and a vxlan network's is 50 bytes smaller), subport on the first one
    parent_net = net.create_network(name=unique("vlan-parent"), provider_network_type="vlan",
                                    provider_physical_network=configs.PHYSNET,
                                    provider_segmentation_id=lo + 40)
    later(net.delete_network, parent_net, ignore_missing=True)
    parent_subnet = create_subnet(admin, parent_net, cidr="10.63.0.0/24")
    later(net.delete_subnet, parent_subnet, ignore_missing=True)
    parent = net.create_port(network_id=parent_net.id, name=unique("trunk-parent"))
    later(net.delete_port, parent, ignore_missing=True)
    sub1 = net.create_port(network_id=vlan.id, name=unique("trunk-sub"))
    later(net.delete_port, sub1, ignore_missing=True)
    trunk = net.create_trunk(name=unique("trunk"), port_id=parent.id, sub_ports=[
        {"port_id": sub1.id, "segmentation_type": "vlan", "segmentation_id": lo + 1}])
    later(net.delete_trunk, trunk, ignore_missing=True)
    flavor = admin.compute.find_flavor(full_setup.FLAVOR, ignore_missing=False)
    image = admin.image.find_image(full_setup.IMAGE, ignore_missing=False)
    server = admin.compute.create_server(name=unique("vm-trunk"), flavor_id=flavor.id,
                                         image_id=image.id, networks=[{"port": parent.id}])
    # gone before the trunk and its ports are deleted (a bound parent holds the trunk)
    later(lambda s=server: (admin.compute.delete_server(s, ignore_missing=True),
                            admin.compute.wait_for_delete(s, interval=1, wait=120)))
    server = admin.compute.wait_for_server(server, status="ACTIVE", wait=180, interval=1)
    parent = net.get_port(parent.id)
    assert (parent.device_id, parent.binding_host_id, parent.binding_vif_type) == (
        server.id, host, "ovs")
    assert parent.trunk_details["trunk_id"] == trunk.id
    assert [(s["port_id"], s["segmentation_id"]) for s in parent.trunk_details["sub_ports"]
            ] == [(sub1.id, lo + 1)]
    sub2 = net.create_port(network_id=vlan.id, name=unique("trunk-sub"))
    later(net.delete_port, sub2, ignore_missing=True)
    net.add_trunk_subports(trunk, [{"port_id": sub2.id, "segmentation_type": "vlan",
                                    "segmentation_id": lo + 2}])
    assert sorted(s["segmentation_id"] for s in net.get_trunk(trunk).sub_ports) == [
        lo + 1, lo + 2]
    net.delete_trunk_subports(trunk, [{"port_id": sub2.id}])
    assert [s["port_id"] for s in net.get_trunk(trunk).sub_ports] == [sub1.id]
    print(f"{region}: trunk {trunk.id} status {net.get_trunk(trunk).status} (no agent "
          "wires trunks: the stand-in reports state only)")

    # a routed network: one segment the compute host reaches (physnet1), one it does not
    routed = net.create_network(name=unique("routed"), provider_network_type="vlan",
                                provider_physical_network=configs.PHYSNET,
                                provider_segmentation_id=lo + 60)
    later(net.delete_network, routed, ignore_missing=True)
    seg_a = next(iter(net.segments(network_id=routed.id)))
    seg_b = net.create_segment(network_id=routed.id, name=unique("seg-b"),
                               network_type="vlan", physical_network=configs.ROUTED_PHYSNET,
                               segmentation_id=lo + 60)
    later(net.delete_segment, seg_b, ignore_missing=True)
    subnets = {}
    for seg, cidr in ((seg_a, "10.62.1.0/24"), (seg_b, "10.62.2.0/24")):
        subnets[seg.id] = net.create_subnet(network_id=routed.id, ip_version=4, cidr=cidr,
                                            segment_id=seg.id)
        later(net.delete_subnet, subnets[seg.id], ignore_missing=True)
    routed = net.get_network(routed.id)
    assert routed.provider_network_type is None  # several segments: no single provider
    bound = net.create_port(network_id=routed.id, binding_host_id=host,
                            name=unique("routed-bound"))
    later(net.delete_port, bound, ignore_missing=True)
    assert [ip["subnet_id"] for ip in bound.fixed_ips] == [subnets[seg_a.id].id]
    assert bound.binding_vif_type == "ovs"
    unbound = net.create_port(network_id=routed.id, name=unique("routed-unbound"))
    later(net.delete_port, unbound, ignore_missing=True)
    assert unbound.fixed_ips == [] and unbound.ip_allocation == "deferred"


def devcloud_cli(*args, timeout=300):
    out = subprocess.run([sys.executable, "-m", "multisite.devcloud", *args],
                         capture_output=True, text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL)
    return out.returncode, out.stdout + out.stderr


def test_status_idempotent_up_and_port_checks(devcloud_full, tmp_path):
    """The operator's view of a running full devcloud: `status` (every process answering,
    RSS per region, the vhosts), `up` again changes nothing, and a second devcloud on the
    same ports is refused with the port, the owner and the way out."""
    cloud = devcloud_full
    base, offset = str(cloud.base), str(cloud.layout.port_offset)
    code, text = devcloud_cli("--base", base, "status")
    assert code == 0, text
    for region in cloud.regions:
        assert re.search(rf"^memory {region}: \d+ MB$", text, re.M), text
        for daemon in ("nova-compute", "ovs-agent", "cinder-volume", "cinder-backup"):
            name = f"r{L.region_index(region)}-{daemon}"
            assert re.search(rf"^{name}\s+{region}\s+-\s+\d+\s+\d+\s+running$", text, re.M), (
                name, text)
    assert re.search(r"^keystone2\s+\S+\s+\d+\s+\d+\s+\d+\s+up$", text, re.M), text
    for vhost in cloud.vhosts:
        assert f"rabbitmq vhost {vhost}: present" in text
    pids = {s.name: s.pid() for s in S.known_services(cloud.layout)}
    code, text = devcloud_cli("--base", base, "up")
    assert code == 0 and "nothing to do" in text, text
    assert {s.name: s.pid() for s in S.known_services(cloud.layout)} == pids
    other = tmp_path / "other"
    other.mkdir()
    (other / "venv").symlink_to(cloud.layout.venv.resolve())  # installed: reach the port check
    code, text = devcloud_cli("--base", str(other), "up", "--no-install", "--profile", "full",
                              "--regions", "2", "--port-offset", offset)
    assert code == 1, text
    assert re.search(r"error: port \d+ for keystone is already in use by another process",
                     text), text
    assert f"hint: a devcloud from {cloud.base} is running" in text, text
    assert not (other / "state.json").exists()
