"""An in-memory Nova/Cinder/Neutron for the DR kinds, at the clients/dr.py boundary.

`FakeSites` holds every region; `client(region)` gives an object with DrClient's methods.
Every pause/unpause/snapshot call is appended to `log` as (region, call, id) so tests can
check the order; `fail_snapshot_of` makes one volume's snapshot end in error.
"""

from __future__ import annotations

import base64
import copy
import datetime
import itertools
import json
import threading
import uuid

from multisite.clients import errors
from tests.unit.reconcilers.fake_network import FakeNeutron

PROJECT = "a" * 32
USER = "u" * 32
SERVICE = "service"            # the service's own project
SERVICE_USER = "service-user"


class FakeSites:
    def __init__(self, regions=("RegionOne", "RegionTwo")):
        self.regions = list(regions)
        self.servers = {r: {} for r in regions}
        self.volumes = {r: {} for r in regions}
        self.snapshots = {r: {} for r in regions}
        self.backups = {r: {} for r in regions}
        self.keypairs = {r: {} for r in regions}
        self.ports = {r: {} for r in regions}
        self.networks = {r: {} for r in regions}
        self.groups = {r: {} for r in regions}
        self.log = []
        self.fail_snapshot_of = set()
        self.fail_quiesce_of = set()   # servers whose guest agent does not answer
        self.down = set()
        self.import_keeps_ids = False
        self.on_snapshot = None     # callable(region, volume_id) run inside create_snapshot
        # (region, keypair name) -> bool: where Nova's keypairs live when the sync
        # reconcilers' in-memory cloud (fake_regions.py) holds them
        self.has_keypair = lambda region, name, user_id: (user_id, name) in self.keypairs[region]
        self.grants = set()         # (project id, role) the service user was given
        self.images = {r: {} for r in regions}   # Glance: createImage's results
        # the target's security groups, as the security-group reconciler sees them
        self.neutron = FakeNeutron(regions)
        self._clock = itertools.count(1)
        self._lock = threading.Lock()

    def install(self, monkeypatch):
        from multisite.clients import dr, session

        monkeypatch.setattr(dr, "for_region", lambda conf, region, project_id=None:
                            self.client(region, project_id))
        self.install_network(monkeypatch)
        monkeypatch.setattr(session, "regions", lambda conf, service_type=None:
                            set(self.regions))
        return self

    def install_network(self, monkeypatch):
        from multisite.clients import network

        monkeypatch.setattr(network, "for_region", lambda conf, region:
                            self.neutron.client(region))
        return self

    def client(self, region, project_id=None):
        return FakeClient(self, region, project_id)

    # -- building a VNF -------------------------------------------------------------------
    def add_server(self, region, name, *, boot_volume=True, data_volume=False, image=None,
                   key_name="vnf-key", status="ACTIVE", ip=None, project=PROJECT):
        sid = str(uuid.uuid4())
        vols = []
        for bootable, wanted in ((True, boot_volume), (False, data_volume)):
            if wanted:
                vid = str(uuid.uuid4())
                self.volumes[region][vid] = {
                    "id": vid, "name": f"{name}-{'boot' if bootable else 'data'}",
                    "status": "in-use", "size": 1, "bootable": bootable,
                    "volume_type": "nfs", "multiattach": False,
                    "device": "/dev/vda" if bootable else "/dev/vdb", "server_id": sid,
                    "image_metadata": {}}
                vols.append(vid)
        if key_name:
            self.keypairs[region].setdefault((USER, key_name), {
                "name": key_name, "public_key": "ssh-ed25519 AAAA", "type": "ssh",
                "user_id": USER})
        net = self.networks[region].setdefault("net-1", {
            "id": "net-1", "name": "vnf-net", "mtu": 1450, "shared": False, "external": False,
            "subnets": [{"id": "sub-1", "name": "vnf-sub", "cidr": "10.60.0.0/24",
                         "ip_version": 4, "gateway_ip": "10.60.0.1", "enable_dhcp": True,
                         "allocation_pools": []}]})
        if not self.groups[region]:
            self.groups[region]["sg-1"] = _group("sg-1", "default", "Default security group", [
                _rule("egress", "IPv4"), _rule("egress", "IPv6"),
                _rule("ingress", "IPv4", remote_group_id="sg-1"),
                _rule("ingress", "IPv6", remote_group_id="sg-1")])
            # a port's group whose rule lets in another group (recorded with it)
            self.groups[region]["sg-db"] = _group("sg-db", "vnf-db", "db tier", [
                _rule("egress", "IPv4"),
                _rule("ingress", "IPv4", protocol="tcp", port_range_min=5432,
                      port_range_max=5432, remote_group_id="sg-app")])
            self.groups[region]["sg-app"] = _group("sg-app", "vnf-app", "app tier", [
                _rule("egress", "IPv4"),
                _rule("ingress", "IPv4", protocol="tcp", port_range_min=443,
                      port_range_max=443, remote_ip_prefix="0.0.0.0/0")])
        self.ports[region][sid] = [{
            "id": str(uuid.uuid4()), "network_id": net["id"], "mac_address": "fa:16:3e:00:00:01",
            "fixed_ips": [{"subnet_id": "sub-1", "ip_address": ip or "10.60.0.10"}],
            "security_groups": ["sg-1", "sg-db"] if name.startswith("db") else ["sg-1"]}]
        self.servers[region][sid] = {
            "id": sid, "name": name, "status": status, "project_id": project, "user_id": USER,
            "key_name": key_name,
            "flavor": {"name": "devcloud.tiny", "vcpus": 1, "ram": 64, "disk": 1,
                       "ephemeral": 0, "swap": 0, "extra_specs": {}},
            "image_id": image, "volumes": vols, "metadata": {}}
        return sid

    def statuses(self, region):
        return {s["name"]: s["status"] for s in self.servers[region].values()}


def _rule(direction, ethertype, **fields):
    return {"id": str(uuid.uuid4()), "direction": direction, "ethertype": ethertype,
            "protocol": None, "port_range_min": None, "port_range_max": None,
            "remote_ip_prefix": None, "remote_group_id": None,
            "remote_address_group_id": None, "description": "", **fields}


def _group(gid, name, description, rules):
    return {"id": gid, "name": name, "description": description, "stateful": True,
            "revision_number": 1, "rules": rules}


class FakeClient:
    """A region as the service's project, or (project_id) as the service user with a token
    scoped to that project: Keystone refuses the scope until the user has a role there."""

    def __init__(self, sites, region, project_id=None):
        self.sites, self.region = sites, region
        self.project = project_id or SERVICE

    def _check(self):
        if self.region in self.sites.down:
            raise errors.RegionUnavailable(self.region, "unreachable")
        if self.project != SERVICE and not any(p == self.project for p, _r in self.sites.grants):
            raise errors.RegionRejected("keystone", f"no role in project {self.project}",
                                        status=401)

    def grant_service_role(self, project_id, role):
        self.sites.grants.add((project_id, role))
        return SERVICE_USER

    def user_id(self):
        return SERVICE_USER

    def _log(self, call, ident):
        with self.sites._lock:
            self.sites.log.append((self.region, call, ident))

    def find_servers(self, project_id, ref):
        self._check()
        return [dict(s) for s in self.sites.servers[self.region].values()
                if s["project_id"] == project_id and ref in (s["id"], s["name"])]

    def server(self, server_id):
        self._check()
        found = self.sites.servers[self.region].get(server_id)
        if found is None:
            raise errors.RegionRejected(self.region, f"no server {server_id}", status=404)
        if found.get("settle"):
            found["status"] = found.pop("settle")
        return dict(found)

    def pause(self, server_id):
        self._check()
        self._log("pause", server_id)
        self.sites.servers[self.region][server_id]["status"] = "PAUSED"

    def unpause(self, server_id):
        self._check()
        self._log("unpause", server_id)
        self.sites.servers[self.region][server_id]["status"] = "ACTIVE"

    def instance_actions(self, server_id):
        return [(c, i) for i, (r, c, s) in enumerate(self.sites.log)
                if r == self.region and s == server_id]

    def create_image(self, server_id, *, name, method=None):
        """Nova's createImage: a volume-backed server's volumes snapshotted and an image
        naming the snapshots (block_device_mapping); else an image with the root disk.
        As Nova: an ACTIVE volume-backed server is quiesced first (logged `quiesce`) and
        unquiesced after (`unquiesce`); a guest whose agent does not answer (no
        hw_qemu_guest_agent, or in `fail_quiesce_of`) is snapshotted without it, unless its
        image says os_require_quiesce=yes: then createImage fails (409)."""
        self._check()
        self._log("createImage", server_id)
        server = self.sites.servers[self.region][server_id]
        mapping = []
        if not server["image_id"]:
            quiesced = False
            if server["status"] == "ACTIVE":
                meta = next((self.sites.volumes[self.region][v]["image_metadata"]
                             for v in server["volumes"]
                             if self.sites.volumes[self.region][v]["bootable"]), {})
                if meta.get("hw_qemu_guest_agent") == "yes" and \
                        server_id not in self.sites.fail_quiesce_of:
                    self._log("quiesce", server_id)
                    quiesced = True
                elif meta.get("os_require_quiesce") == "yes":
                    raise errors.RegionRejected(self.region, "Quiescing requested by image "
                                                "property failed", status=409)
            for vid in server["volumes"]:
                sid = self.create_snapshot(vid, name=f"snapshot for {name}")
                mapping.append({"snapshot_id": sid, "source_type": "snapshot",
                                "device_name": self.sites.volumes[self.region][vid]["device"],
                                "boot_index": 0 if self.sites.volumes[self.region][vid][
                                    "bootable"] else None})
            if quiesced:
                self._log("unquiesce", server_id)
        iid = str(uuid.uuid4())
        self.sites.images[self.region][iid] = {
            "id": iid, "name": name, "status": "active", "owner": SERVICE,
            "size": 0 if mapping else 1024, "block_device_mapping": mapping}
        return iid

    def image(self, image_id):
        self._check()
        found = self.sites.images[self.region].get(image_id)
        return None if found is None else copy.deepcopy(found)

    def find_images(self, name):
        self._check()
        return [i["id"] for i in self.sites.images[self.region].values() if i["name"] == name]

    def delete_image(self, image_id):
        self._check()
        self.sites.images[self.region].pop(image_id, None)

    def keypair(self, name, *, user_id):
        self._check()
        found = self.sites.keypairs[self.region].get((user_id, name))
        if found is None:
            raise errors.RegionRejected(self.region, f"no keypair {name}", status=404)
        return dict(found)

    def volume(self, volume_id):
        self._check()
        found = self.sites.volumes[self.region].get(volume_id)
        if found is None:
            raise errors.RegionRejected(self.region, f"no volume {volume_id}", status=404)
        self.volume_settles(found)
        return dict(found)

    def create_snapshot(self, volume_id, *, name):
        self._check()
        self._log("snapshot", volume_id)
        if self.sites.on_snapshot:
            self.sites.on_snapshot(self.region, volume_id)
        sid = str(uuid.uuid4())
        status = "error" if volume_id in self.sites.fail_snapshot_of else "available"
        self.sites.snapshots[self.region][sid] = {"id": sid, "volume_id": volume_id,
                                                  "status": status,
                                                  # Cinder's format: naive UTC, microseconds
                                                  "created_at": datetime.datetime.now(
                                                      datetime.UTC).strftime(
                                                      "%Y-%m-%dT%H:%M:%S.%f"),
                                                  "name": name}
        return sid

    def snapshot(self, snapshot_id):
        self._check()
        found = self.sites.snapshots[self.region].get(snapshot_id)
        return None if found is None else {k: found[k] for k in ("id", "status", "created_at")}

    def find_snapshots(self, name):
        self._check()
        return [s["id"] for s in self.sites.snapshots[self.region].values()
                if s.get("name") == name]

    def find_backups(self, name):
        self._check()
        return [b["id"] for b in self.sites.backups[self.region].values()
                if b.get("name") == name]

    def delete_snapshot(self, snapshot_id):
        self._check()
        self._log("delete_snapshot", snapshot_id)
        self.sites.snapshots[self.region].pop(snapshot_id, None)

    def create_backup(self, volume_id, *, snapshot_id, name, incremental):
        self._check()
        backups = self.sites.backups[self.region]
        parent = None
        if incremental:
            mine = [b for b in backups.values() if b["volume_id"] == volume_id]
            if not mine:
                raise errors.RegionRejected(self.region, "no full backup to increment",
                                            status=400)
            parent = max(mine, key=lambda b: b["seq"])["id"]
        bid = str(uuid.uuid4())
        backups[bid] = {"id": bid, "volume_id": volume_id, "snapshot_id": snapshot_id,
                        "status": "available", "is_incremental": bool(incremental),
                        "parent_id": parent, "size": 1, "fail_reason": None,
                        "seq": next(self.sites._clock), "name": name}
        return bid

    def backup(self, backup_id):
        """As Cinder shows it (no parent_id at any microversion). A backup being deleted is
        seen `deleting` once, then gone (Cinder deletes in the background)."""
        self._check()
        backups = self.sites.backups[self.region]
        found = backups.get(backup_id)
        if found is not None and found["status"] == "deleting":
            if found.pop("seen_deleting", False):
                backups.pop(backup_id)
                return None
            found["seen_deleting"] = True
        return None if found is None else {k: found[k] for k in (
            "id", "status", "is_incremental", "size", "fail_reason")}

    def delete_backup(self, backup_id):
        """Cinder's rules: refused while an incremental backup on it exists (even one being
        deleted) or while it is not available/error; then `deleting`."""
        self._check()
        backups = self.sites.backups[self.region]
        found = backups.get(backup_id)
        if found is None:
            return
        if any(b["parent_id"] == backup_id for b in backups.values()):
            raise errors.RegionRejected(self.region, "Invalid backup: Incremental backups "
                                        "exist for this backup.", status=400)
        if found["status"] not in ("available", "error"):
            raise errors.RegionRejected(self.region, "Invalid backup: Backup status must be "
                                        "available or error", status=400)
        found["status"] = "deleting"

    def export_backup(self, backup_id):
        """Like Cinder's: backup_url is the backup object as base64 JSON."""
        self._check()
        found = self.sites.backups[self.region][backup_id]
        url = base64.b64encode(json.dumps({
            "id": backup_id, "parent_id": found["parent_id"],
            "volume_id": found["volume_id"]}).encode()).decode()
        return {"backup_service": "cinder.backup.drivers.posix.PosixBackupDriver",
                "backup_url": url}

    def import_backup(self, record):
        """A new backup for the record. Cinder keeps the record's id and refuses a second
        import of it (sites.import_keeps_ids); by default the fake gives a new id, which
        the restore tests count on."""
        self._check()
        bid = str(uuid.uuid4())
        if self.sites.import_keeps_ids:
            bid = json.loads(base64.b64decode(record["backup_url"]))["id"]
            if bid in self.sites.backups[self.region]:
                raise errors.RegionRejected(self.region, "Invalid backup: Backup already "
                                            "exists in database.", status=400)
        self.sites.backups[self.region][bid] = {
            "id": bid, "volume_id": None, "snapshot_id": None, "status": "available",
            "is_incremental": False, "parent_id": None, "size": 1, "fail_reason": None,
            "seq": next(self.sites._clock), "name": record["backup_url"]}
        return bid

    def ports(self, server_id):
        self._check()
        return [dict(p) for p in self.sites.ports[self.region].get(server_id, [])]

    def network(self, network_id):
        self._check()
        return dict(self.sites.networks[self.region][network_id])

    def security_group(self, group_id):
        self._check()
        return copy.deepcopy(self.sites.groups[self.region][group_id])

    # -- restore -----------------------------------------------------------------------
    # Restored volumes and new servers take one read to settle (restoring-backup ->
    # available, BUILD -> ACTIVE), so the restore's polling runs. Every create is logged.
    def restore_backup(self, backup_id, *, name):
        self._check()
        backup = self.sites.backups[self.region].get(backup_id)
        if backup is None:
            raise errors.RegionRejected(self.region, f"no backup {backup_id}", status=404)
        self._log("restore_backup", backup_id)
        vid = str(uuid.uuid4())
        # as Cinder: the data comes back, the bootable flag does not
        self.sites.volumes[self.region][vid] = {
            "id": vid, "name": name, "status": "restoring-backup", "size": 1,
            "bootable": False, "volume_type": "nfs",
            "multiattach": False, "device": None, "server_id": None, "image_metadata": {},
            "settle": "available", "project_id": self.project}
        return vid

    def set_bootable(self, volume_id):
        self._check()
        self.sites.volumes[self.region][volume_id]["bootable"] = True

    def volume_settles(self, found):
        if found.get("settle"):
            found["status"] = found.pop("settle")

    def find_volumes(self, name):
        self._check()
        return [v["id"] for v in self.sites.volumes[self.region].values() if v["name"] == name
                and v.get("project_id", self.project) == self.project]

    def find_networks(self, name):
        self._check()
        return [n["id"] for n in self.sites.networks[self.region].values() if n["name"] == name
                and n.get("project_id", self.project) == self.project]

    def create_network(self, *, name, mtu=None):
        self._check()
        self._log("create_network", name)
        nid = str(uuid.uuid4())
        self.sites.networks[self.region][nid] = {"id": nid, "name": name, "mtu": mtu,
                                                 "shared": False, "external": False,
                                                 "subnets": [], "project_id": self.project}
        return nid

    def find_subnets(self, network_id, name):
        self._check()
        return [s["id"] for s in self.sites.networks[self.region][network_id]["subnets"]
                if s["name"] == name]

    def create_subnet(self, network_id, subnet):
        self._check()
        self._log("create_subnet", subnet["name"])
        sid = str(uuid.uuid4())
        self.sites.networks[self.region][network_id]["subnets"].append(
            dict(subnet, id=sid, project_id=self.project))
        return sid

    def _all_ports(self):
        return [p for ports in self.sites.ports[self.region].values() for p in ports]

    def find_ports(self, name):
        self._check()
        return [{"id": p["id"], "mac_address": p["mac_address"], "fixed_ips": p["fixed_ips"]}
                for p in self._all_ports() if p.get("name") == name
                and p.get("project_id", self.project) == self.project]

    def create_port(self, network_id, *, name, mac_address=None, fixed_ips=None,
                    security_groups=None):
        self._check()
        self._log("create_port", name)
        taken = {(p["network_id"], ip["ip_address"]) for p in self._all_ports()
                 for ip in p["fixed_ips"]}
        ips = []
        for n, ip in enumerate(fixed_ips or []):
            address = ip.get("ip_address") or f"10.99.{len(taken)}.{n + 2}"
            if (network_id, address) in taken:
                raise errors.RegionRejected(self.region, f"IP {address} in use", status=409)
            ips.append({"subnet_id": ip["subnet_id"], "ip_address": address})
        port = {"id": str(uuid.uuid4()), "network_id": network_id, "name": name,
                "mac_address": mac_address or "fa:16:3e:ff:ff:ff", "fixed_ips": ips,
                "security_groups": list(security_groups or []), "project_id": self.project}
        self.sites.ports[self.region].setdefault(None, []).append(port)
        return {k: port[k] for k in ("id", "mac_address", "fixed_ips")}

    def find_own_servers(self, name):
        self._check()
        return [dict(s) for s in self.sites.servers[self.region].values()
                if s["name"] == name and s["project_id"] == self.project]

    def create_server(self, *, name, flavor_id, boot_volume_id=None, port_ids, key_name=None,
                      image_id=None):
        self._check()
        self._log("create_server", name)
        if key_name and not self.sites.has_keypair(self.region, key_name, SERVICE_USER):
            raise errors.RegionRejected(self.region, f"no keypair {key_name}", status=400)
        sid = str(uuid.uuid4())
        if boot_volume_id is None:
            if image_id not in self.sites.images[self.region]:
                raise errors.RegionRejected(self.region, f"no image {image_id}", status=400)
            self.sites.servers[self.region][sid] = {
                "id": sid, "name": name, "status": "BUILD", "project_id": self.project,
                "user_id": SERVICE_USER, "key_name": key_name, "flavor": {"id": flavor_id},
                "image_id": image_id, "volumes": [], "metadata": {}, "settle": "ACTIVE"}
            for port in self._all_ports():
                if port["id"] in port_ids:
                    port["device_id"] = sid
            return sid
        volume = self.sites.volumes[self.region][boot_volume_id]
        if volume.get("project_id", self.project) != self.project:
            raise errors.RegionRejected(self.region, f"volume {boot_volume_id} is another "
                                                     "project's", status=400)
        if not volume["bootable"]:
            raise errors.RegionRejected(self.region, f"Block Device {boot_volume_id} is not "
                                                     "bootable.", status=400)
        volume.update(status="in-use", server_id=sid, device="/dev/vda")
        for port in self._all_ports():
            if port["id"] in port_ids:
                port["device_id"] = sid
        self.sites.servers[self.region][sid] = {
            "id": sid, "name": name, "status": "BUILD", "project_id": self.project,
            "user_id": SERVICE_USER, "key_name": key_name, "flavor": {"id": flavor_id},
            "image_id": None, "volumes": [boot_volume_id], "metadata": {}, "settle": "ACTIVE"}
        return sid

    def attach_volume(self, server_id, volume_id):
        self._check()
        self._log("attach_volume", volume_id)
        volume = self.sites.volumes[self.region][volume_id]
        volume.update(status="in-use", server_id=server_id, device="/dev/vdb")
        self.sites.servers[self.region][server_id]["volumes"].append(volume_id)
