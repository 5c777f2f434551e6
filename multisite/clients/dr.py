"""Nova, Cinder and Neutron in one region, for disaster recovery: what a protection plan
discovers (servers, their volumes, ports, networks, security groups, keypairs, flavors) and
what a checkpoint does (pause/unpause, snapshots, backups, backup record export/import).

Service credentials (admin): servers are looked up in the plan's project; the snapshots and
backups a checkpoint makes belong to the service's project, so that the tenant cannot delete
the copies its recovery depends on. A restore creates the tenant's resources (volumes,
networks, subnets, ports, servers) with a client of the plan's project
(`for_region(conf, region, project_id=...)`): the service user with a token scoped to that
project, after `grant_service_role` gave it a role there.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib import parse

from multisite.clients import image as image_client
from multisite.clients import keystone, network, session

# 2.47: the server's flavor is embedded (name, vcpus, ram, disk, extra specs);
# 2.10 is enough for another user's keypair, 2.47 includes it.
COMPUTE_MICROVERSION = "2.47"
# 3.47: backup from a snapshot with incremental; 3.0 is enough for the rest
VOLUME_MICROVERSION = "3.47"
UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                  r"[0-9a-fA-F]{12}$")


def _q(value):
    return parse.quote(str(value), safe="")


def normalize_server(raw):
    flavor = raw.get("flavor") or {}
    image = raw.get("image")
    return {
        "id": raw["id"], "name": raw["name"], "status": raw["status"],
        "project_id": raw.get("tenant_id"), "user_id": raw.get("user_id"),
        "key_name": raw.get("key_name"),
        "flavor": {"name": flavor.get("original_name"), "vcpus": flavor.get("vcpus"),
                   "ram": flavor.get("ram"), "disk": flavor.get("disk"),
                   "ephemeral": flavor.get("ephemeral", 0), "swap": flavor.get("swap", 0),
                   "extra_specs": flavor.get("extra_specs") or {}},
        # "" (or absent) for a server booted from a volume
        "image_id": image.get("id") if isinstance(image, dict) else None,
        "volumes": [v["id"] for v in raw.get("os-extended-volumes:volumes_attached", [])],
        "metadata": raw.get("metadata") or {},
    }


def normalize_volume(raw):
    attachments = raw.get("attachments") or []
    return {"id": raw["id"], "name": raw.get("name"), "status": raw["status"],
            "size": raw["size"], "bootable": str(raw.get("bootable")).lower() == "true",
            "volume_type": raw.get("volume_type"), "multiattach": raw.get("multiattach", False),
            "device": attachments[0].get("device") if attachments else None,
            "server_id": attachments[0].get("server_id") if attachments else None,
            "image_metadata": raw.get("volume_image_metadata") or {}}


class DrClient:
    """One region's compute, volume and network calls that protection and recovery need."""

    def __init__(self, conf, region, project_id=None):
        self.region, self.project_id, self._conf = region, project_id, conf
        scope = {"project_id": project_id}
        self._nova = session.adapter(conf, "compute", region, microversion=COMPUTE_MICROVERSION,
                                     **scope)
        self._cinder = session.adapter(conf, "block-storage", region,
                                       microversion=VOLUME_MICROVERSION, **scope)
        self._neutron = session.adapter(conf, "network", region, **scope)

    # -- identity --------------------------------------------------------------------------
    def grant_service_role(self, project_id, role):
        """Give the service user `role` in `project_id` (idempotent): a client of that
        project (project_id=) can then scope its token there. The service user's id."""
        with session.translate("keystone", f"grant role {role} in project {project_id}"):
            return keystone.grant_service_role(self._conf, session.service_session(self._conf),
                                               project_id, role)

    def user_id(self):
        """The id of the user this client calls as (the service user)."""
        with session.translate("keystone", "read the service user's id"):
            return self._nova.session.get_user_id()

    # -- compute -------------------------------------------------------------------------
    def find_servers(self, project_id, ref):
        """Servers of the project whose id or exact name is `ref` (0, 1 or more)."""
        with session.translate(self.region, f"find server {ref}"):
            if UUID.match(ref):
                resp = self._nova.get(f"/servers/{_q(ref)}", raise_exc=False)
                if resp.status_code == 200:
                    raw = resp.json()["server"]
                    return [normalize_server(raw)] if raw.get("tenant_id") == project_id else []
            name = "^" + re.escape(ref) + "$"
            body = self._nova.get(f"/servers/detail?all_tenants=1&project_id={_q(project_id)}"
                                  f"&name={_q(name)}").json()
        return [normalize_server(s) for s in body["servers"] if s["name"] == ref]

    def server(self, server_id):
        with session.translate(self.region, f"get server {server_id}"):
            return normalize_server(self._nova.get(f"/servers/{_q(server_id)}").json()["server"])

    def _action(self, server_id, action, what):
        with session.translate(self.region, f"{what} server {server_id}"):
            self._nova.post(f"/servers/{_q(server_id)}/action", json={action: None})

    def pause(self, server_id):
        self._action(server_id, "pause", "pause")

    def unpause(self, server_id):
        self._action(server_id, "unpause", "unpause")

    def instance_actions(self, server_id):
        """Nova's record of the server's actions, oldest first: [(action, start_time)]."""
        with session.translate(self.region, f"list actions of server {server_id}"):
            body = self._nova.get(f"/servers/{_q(server_id)}/os-instance-actions").json()
        actions = [(a["action"], a["start_time"]) for a in body["instanceActions"]]
        return sorted(actions, key=lambda a: a[1])

    def create_image(self, server_id, *, name, method="vm-snapshot"):
        """Nova's createImage of the server (methods vm-snapshot and quiesce); the new
        image's id. For a volume-backed server Nova quiesces an ACTIVE guest (a no-op or a
        skip without the guest agent, a failure with os_require_quiesce=yes), snapshots its
        volumes, makes an image holding only their ids and unquiesces once the snapshots
        left `creating`."""
        body = {"createImage": {"name": name, "metadata": {"multisite_dr": method}}}
        with session.translate(self.region, f"create image of server {server_id}"):
            return self._nova.post(f"/servers/{_q(server_id)}/action", json=body).json()[
                "image_id"]

    def _glance(self):
        if getattr(self, "_images", None) is None:
            self._images = image_client.ImageClient(self._conf, self.region)
        return self._images

    def image(self, image_id):
        """{"id", "name", "status", "owner", "size", "block_device_mapping"} (the mapping
        Nova records in a volume-backed server's image: [{"snapshot_id", "device_name",
        "boot_index", ...}]); None once deleted."""
        try:
            raw = self._glance().get_image(image_id)
        except session.NotFound:
            return None
        mapping = raw.get("block_device_mapping") or "[]"
        try:
            mapping = json.loads(mapping) if isinstance(mapping, str) else mapping
        except ValueError:
            mapping = []
        return {"id": raw["id"], "name": raw.get("name"), "status": raw.get("status"),
                "owner": raw.get("owner"), "size": raw.get("size"),
                "block_device_mapping": mapping if isinstance(mapping, list) else []}

    def find_images(self, name):
        """Ids of the images named exactly `name` (a checkpoint's own names)."""
        return [i["id"] for i in self._glance().list_images(name=name)
                if i.get("name") == name]

    def delete_image(self, image_id):
        try:
            self._glance().delete_image(image_id)
        except session.NotFound:
            pass

    def keypair(self, name, *, user_id):
        with session.translate(self.region, f"get keypair {name}"):
            body = self._nova.get(f"/os-keypairs/{_q(name)}?user_id={_q(user_id)}").json()
        key = body["keypair"]
        return {"name": key["name"], "public_key": key["public_key"],
                "type": key.get("type", "ssh"), "user_id": user_id}

    # -- block storage -------------------------------------------------------------------
    def volume(self, volume_id):
        with session.translate(self.region, f"get volume {volume_id}"):
            return normalize_volume(self._cinder.get(f"/volumes/{_q(volume_id)}").json()["volume"])

    def create_snapshot(self, volume_id, *, name):
        body = {"snapshot": {"volume_id": volume_id, "name": name, "force": True,
                             "description": "Multisite DR checkpoint (temporary)"}}
        with session.translate(self.region, f"snapshot volume {volume_id}"):
            return self._cinder.post("/snapshots", json=body).json()["snapshot"]["id"]

    def snapshot(self, snapshot_id):
        """{"id", "status", "created_at"}; None once deleted."""
        with session.translate(self.region, f"get snapshot {snapshot_id}"):
            resp = self._cinder.get(f"/snapshots/{_q(snapshot_id)}", raise_exc=False)
            if resp.status_code == 404:
                return None
            resp.raise_for_status() if resp.status_code >= 400 else None
            raw = resp.json()["snapshot"]
        return {"id": raw["id"], "status": raw["status"], "created_at": raw.get("created_at")}

    def find_snapshots(self, name):
        """Ids of this project's snapshots named exactly `name` (a checkpoint's own names)."""
        with session.translate(self.region, f"find snapshots named {name}"):
            body = self._cinder.get(f"/snapshots?name={_q(name)}").json()
        return [s["id"] for s in body["snapshots"] if s.get("name") == name]

    def delete_snapshot(self, snapshot_id):
        with session.translate(self.region, f"delete snapshot {snapshot_id}"):
            resp = self._cinder.delete(f"/snapshots/{_q(snapshot_id)}", raise_exc=False)
        if resp.status_code not in (202, 204, 404):
            with session.translate(self.region, f"delete snapshot {snapshot_id}"):
                resp.raise_for_status()

    def create_backup(self, volume_id, *, snapshot_id, name, incremental):
        """A backup of the snapshot's data; incremental: its parent is the volume's newest
        backup older than the snapshot (Cinder chooses it, we record it)."""
        body = {"backup": {"volume_id": volume_id, "snapshot_id": snapshot_id, "name": name,
                           "incremental": bool(incremental), "force": True,
                           "description": "Multisite DR checkpoint"}}
        with session.translate(self.region, f"back up snapshot {snapshot_id}"):
            return self._cinder.post("/backups", json=body).json()["backup"]["id"]

    def find_backups(self, name):
        """Ids of this project's backups named exactly `name`."""
        with session.translate(self.region, f"find backups named {name}"):
            body = self._cinder.get(f"/backups?name={_q(name)}").json()
        return [b["id"] for b in body["backups"] if b.get("name") == name]

    def backup(self, backup_id):
        """{"id", "status", "is_incremental", "size", "fail_reason"}; None if gone.

        Cinder's API does not show a backup's parent at any microversion (views/backups.py
        has no parent_id): `record_parent` reads it from the exported record."""
        with session.translate(self.region, f"get backup {backup_id}"):
            resp = self._cinder.get(f"/backups/{_q(backup_id)}", raise_exc=False)
            if resp.status_code == 404:
                return None
            raw = resp.json()["backup"]
        return {"id": raw["id"], "status": raw["status"],
                "is_incremental": raw.get("is_incremental", False), "size": raw.get("size"),
                "fail_reason": raw.get("fail_reason")}

    def delete_backup(self, backup_id):
        with session.translate(self.region, f"delete backup {backup_id}"):
            resp = self._cinder.delete(f"/backups/{_q(backup_id)}", raise_exc=False)
            if resp.status_code not in (202, 204, 404):
                resp.raise_for_status()

    def export_backup(self, backup_id):
        """The backup's record ({"backup_service", "backup_url"}): what another region
        imports to restore it from the shared backup store."""
        with session.translate(self.region, f"export backup {backup_id}"):
            return self._cinder.get(f"/backups/{_q(backup_id)}/export_record").json()[
                "backup-record"]

    def import_backup(self, record):
        with session.translate(self.region, "import a backup record"):
            return self._cinder.post("/backups/import_record",
                                     json={"backup-record": record}).json()["backup"]["id"]

    # -- network -------------------------------------------------------------------------
    def ports(self, server_id):
        with session.translate(self.region, f"list ports of server {server_id}"):
            body = self._neutron.get(f"/v2.0/ports?device_id={_q(server_id)}").json()
        return [{"id": p["id"], "network_id": p["network_id"], "mac_address": p["mac_address"],
                 "fixed_ips": p.get("fixed_ips", []),
                 "security_groups": p.get("security_groups", [])} for p in body["ports"]]

    def network(self, network_id):
        with session.translate(self.region, f"get network {network_id}"):
            net = self._neutron.get(f"/v2.0/networks/{_q(network_id)}").json()["network"]
            subnets = self._neutron.get(f"/v2.0/subnets?network_id={_q(network_id)}").json()
        return {"id": net["id"], "name": net["name"], "mtu": net.get("mtu"),
                "shared": net.get("shared", False), "external": net.get("router:external", False),
                "subnets": [{"id": s["id"], "name": s["name"], "cidr": s["cidr"],
                             "ip_version": s["ip_version"], "gateway_ip": s.get("gateway_ip"),
                             "enable_dhcp": s.get("enable_dhcp", True),
                             "allocation_pools": s.get("allocation_pools", [])}
                            for s in subnets["subnets"]]}

    def security_group(self, group_id):
        """The group with its rules (network.normalize_group: what the security-group
        reconciler reads), so that a restore can recreate it."""
        with session.translate(self.region, f"get security group {group_id}"):
            raw = self._neutron.get(f"/v2.0/security-groups/{_q(group_id)}").json()[
                "security_group"]
        return network.normalize_group(raw)

    def create_port(self, network_id, *, name, mac_address=None, fixed_ips=None,
                    security_groups=None):
        """fixed_ips: [{"subnet_id", "ip_address"?}]; None MAC: Neutron chooses;
        security_groups: group ids (None: the project's default group)."""
        body = {"network_id": network_id, "name": name}
        if mac_address:
            body["mac_address"] = mac_address
        if fixed_ips:
            body["fixed_ips"] = fixed_ips
        if security_groups is not None:
            body["security_groups"] = list(security_groups)
        with session.translate(self.region, f"create port {name}"):
            raw = self._neutron.post("/v2.0/ports", json={"port": body}).json()["port"]
        return {"id": raw["id"], "mac_address": raw["mac_address"],
                "fixed_ips": raw.get("fixed_ips", []),
                "security_groups": raw.get("security_groups", [])}


    # -- restore (the target region; made with the service credentials) -------------------
    def restore_backup(self, backup_id, *, name):
        """A new volume from the backup; its id (Cinder restores in the background)."""
        with session.translate(self.region, f"restore backup {backup_id}"):
            return self._cinder.post(f"/backups/{_q(backup_id)}/restore",
                                     json={"restore": {"name": name}}).json()["restore"][
                "volume_id"]

    def set_bootable(self, volume_id):
        """Mark a volume bootable (a volume restored from a backup is not, whatever its
        source was)."""
        with session.translate(self.region, f"mark volume {volume_id} bootable"):
            self._cinder.post(f"/volumes/{_q(volume_id)}/action",
                              json={"os-set_bootable": {"bootable": True}})

    def find_volumes(self, name):
        with session.translate(self.region, f"find volumes named {name}"):
            body = self._cinder.get(f"/volumes?name={_q(name)}").json()
        return [v["id"] for v in body["volumes"] if v.get("name") == name]

    def find_networks(self, name):
        with session.translate(self.region, f"find networks named {name}"):
            body = self._neutron.get(f"/v2.0/networks?name={_q(name)}").json()
        return [n["id"] for n in body["networks"]]

    def create_network(self, *, name, mtu=None):
        body = {"name": name, **({"mtu": mtu} if mtu else {})}
        with session.translate(self.region, f"create network {name}"):
            return self._neutron.post("/v2.0/networks", json={"network": body}).json()[
                "network"]["id"]

    def find_subnets(self, network_id, name):
        with session.translate(self.region, f"find subnets named {name}"):
            body = self._neutron.get(f"/v2.0/subnets?network_id={_q(network_id)}"
                                     f"&name={_q(name)}").json()
        return [s["id"] for s in body["subnets"]]

    def create_subnet(self, network_id, subnet):
        body = {"network_id": network_id, "name": subnet["name"], "cidr": subnet["cidr"],
                "ip_version": subnet["ip_version"], "gateway_ip": subnet.get("gateway_ip"),
                "enable_dhcp": subnet.get("enable_dhcp", True)}
        if subnet.get("allocation_pools"):
            body["allocation_pools"] = subnet["allocation_pools"]
        with session.translate(self.region, f"create subnet {subnet['name']}"):
            return self._neutron.post("/v2.0/subnets", json={"subnet": body}).json()[
                "subnet"]["id"]

    def find_ports(self, name):
        with session.translate(self.region, f"find ports named {name}"):
            body = self._neutron.get(f"/v2.0/ports?name={_q(name)}").json()
        return [{"id": p["id"], "mac_address": p["mac_address"],
                 "fixed_ips": p.get("fixed_ips", [])} for p in body["ports"]]

    def find_own_servers(self, name):
        """Servers named exactly `name` in the credentials' own project."""
        with session.translate(self.region, f"find servers named {name}"):
            body = self._nova.get(f"/servers/detail?name={_q('^' + re.escape(name) + '$')}"
                                  ).json()
        return [normalize_server(s) for s in body["servers"] if s["name"] == name]

    def create_server(self, *, name, flavor_id, boot_volume_id=None, port_ids, key_name=None,
                      image_id=None):
        """Boot from an existing volume (kept when the server is deleted), or from an image
        (image_id: a vm-snapshot checkpoint's copy)."""
        body = {"name": name, "flavorRef": flavor_id, "imageRef": image_id or "",
                "networks": [{"port": p} for p in port_ids]}
        if boot_volume_id:
            body["block_device_mapping_v2"] = [{
                "boot_index": 0, "uuid": boot_volume_id, "source_type": "volume",
                "destination_type": "volume", "delete_on_termination": False}]
        if key_name:
            body["key_name"] = key_name
        with session.translate(self.region, f"create server {name}"):
            return self._nova.post("/servers", json={"server": body}).json()["server"]["id"]

    def attach_volume(self, server_id, volume_id):
        with session.translate(self.region, f"attach volume {volume_id} to {server_id}"):
            self._nova.post(f"/servers/{_q(server_id)}/os-volume_attachments",
                            json={"volumeAttachment": {"volumeId": volume_id}})


def _record(record):
    try:
        decoded = json.loads(base64.b64decode(record["backup_url"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def record_parent(record):
    """The parent backup id Cinder chose for an exported backup (None for a full backup, or
    if the record cannot be read): the record's backup_url is the backup object as base64
    JSON, parent_id included."""
    return _record(record).get("parent_id")


def record_backup_id(record):
    """The backup's id in an exported record: Cinder's import keeps it (None if unreadable)."""
    return _record(record).get("id")


def for_region(conf, region, project_id=None):
    """The DR client of `region`, with the service's project or scoped to `project_id` (tests
    replace this with an in-memory cloud)."""
    return DrClient(conf, region, project_id)
