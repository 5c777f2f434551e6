"""The block-storage proxy (Cinder v3): zones from the pods; volumes, snapshots, backups
and transfers routed.

Paths are Cinder's below the gateway's `/volume/v3`: `/{project_id}/volumes...`. A volume
create binds the project to a pod of the requested AZ (as a server create: the same
binding, so a project's servers and volumes of one AZ share a pod), writes the routing
first (`pending-...`, no bottom id), tags the volume's metadata with the routing id,
forwards, then completes the routing with the pod's id (ids are the pod's: no
translation). A snapshot, a backup or a transfer goes to its volume's pod, routed the same
way (a transfer has no metadata to tag).
"""

import functools
import logging
import re
import uuid

from multisite.gateway import faults, images, proxy
from multisite.objects import pods, routings

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "volumev3"
SERVICE = "Cinder"
VOLUME = "volume"
SNAPSHOT = "snapshot"
BACKUP = "backup"
TRANSFER = "transfer"
# Cinder keeps a backup's metadata (where the routing id is tagged) from microversion 3.43
BACKUP_METADATA = (3, 43)
MICROVERSION = "OpenStack-API-Version"
ROUTING_TAG = routings.ROUTING_TAG
PROJECT = r"/(?P<project>[^/]+)"

_forward = functools.partial(proxy.forward, service_type=SERVICE_TYPE)
_rewrite = functools.partial(proxy.rewrite, service_type=SERVICE_TYPE)


def version(conf, req, call, base):
    """The v3 version document of a pod, its links pointing at the gateway."""
    pod = proxy.any_pod(conf)
    return _rewrite(proxy.get(conf, pod, req, "/", service_type=SERVICE_TYPE), conf, pod,
                    base)


def availability_zones(conf, req, call, base):
    """One zone per pod AZ (Cinder's format)."""
    info = [{"zoneName": z, "zoneState": {"available": True}} for z in proxy.zones(conf)]
    return proxy.json_response({"availabilityZoneInfo": info})


def types(conf, req, call, base, path):
    """Volume (and group) types as one pod has them (the pods are expected to define the
    same)."""
    pod = proxy.any_pod(conf)
    return _rewrite(_forward(conf, pod, req, path), conf, pod, base)


def _routed_pod(resource_type):
    """(conf, caller, id) -> (pod, routing) of a routed item; Cinder's 404 else."""
    def find(conf, call, item_id):
        return proxy.routed(conf, call, item_id, resource_type,
                            f"{resource_type.capitalize()} {item_id} could not be found.")
    return find


FINDERS = {kind: _routed_pod(kind) for kind in (VOLUME, SNAPSHOT, BACKUP, TRANSFER)}
_volume_pod, _snapshot_pod, _backup_pod = (FINDERS[k] for k in (VOLUME, SNAPSHOT, BACKUP))


def _create_pod(conf, call, volume):
    """The pod of a new volume: its source's (snapshot, volume, backup: 3.47) or a pod of
    its zone."""
    zone = volume.get("availability_zone")
    for field, find in (("snapshot_id", _snapshot_pod), ("source_volid", _volume_pod),
                        ("backup_id", _backup_pod)):
        if volume.get(field):
            if not isinstance(volume[field], str):
                raise faults.Fault(400, f"Invalid input: {field} must be a string")
            pod, _ = find(conf, call, volume[field])
            if zone and zone.split(":", 1)[0] != pod["az_name"]:
                raise faults.Fault(400, f"{field} {volume[field]} is in availability zone "
                                        f"{pod['az_name']}, not {zone}")
            return pod
    return proxy.bound_pod(conf, call, zone)


def _create(conf, req, call, base, *, pod, body, item, key, resource_type, path, tag=True,
            headers=None):
    """Route then forward a create: the routing first, the item tagged with its id (when
    the item has metadata: `tag`)."""
    if tag and item.get("metadata") is None:
        item["metadata"] = {}   # openstacksdk sends "metadata": null
    if tag and not isinstance(item["metadata"], dict):
        raise faults.Fault(400, "Invalid input: metadata must be an object")
    routing = routings.create(conf, top_id=f"pending-{uuid.uuid4()}", pod_id=pod["pod_id"],
                              project_id=call.project_id, resource_type=resource_type)
    if tag:
        item["metadata"][ROUTING_TAG] = str(routing["id"])
    LOG.info("Creating a %s: project=%s pod=%s routing=%s", resource_type, call.project_id,
             pod["pod_name"], routing["id"])
    # a pod that does not answer raises: the routing stays for the reconciler
    proxy.test_pause(conf, "before_pod", routing)
    found = _forward(conf, pod, req, path, body=proxy.json_bytes(body), headers=headers)
    proxy.test_pause(conf, "after_pod", routing)
    if found.status >= 400:
        routings.delete(conf, routing["id"])
        return proxy.answer(found)
    new_id = found.json()[key]["id"]
    routings.update(conf, routing["id"], {"top_id": new_id, "bottom_id": new_id})
    return _rewrite(found, conf, pod, base)


def create_volume(conf, req, call, base, project, *, trust=True):
    """A create the pod refuses after its image was taken on trust
    (images.ensure_in_pod) is made once more with the image read."""
    body, volume = proxy.body_of(req, VOLUME)
    pod = _create_pod(conf, call, volume)
    trusted = images.ensure_in_pod(conf, req, call, pod, volume, service=SERVICE_TYPE,
                                   trust=trust)
    # the pod's own storage zone (Cinder's default_availability_zone): the user's zone
    # named the pod
    volume.pop("availability_zone", None)
    answer = _create(conf, req, call, base, pod=pod, body=body, item=volume, key=VOLUME,
                     resource_type=VOLUME, path=f"/{project}/volumes")
    if images.refused_on_trust(pod, call, trusted, answer.status_int):
        return create_volume(conf, req, call, base, project, trust=False)
    return answer


def create_snapshot(conf, req, call, base, project):
    body, snapshot = proxy.body_of(req, SNAPSHOT)
    if not isinstance(snapshot.get("volume_id"), str):
        raise faults.Fault(400, "Invalid input: snapshot.volume_id is required")
    pod, _ = _volume_pod(conf, call, snapshot["volume_id"])
    return _create(conf, req, call, base, pod=pod, body=body, item=snapshot, key=SNAPSHOT,
                   resource_type=SNAPSHOT, path=f"/{project}/snapshots")


def _volume_of(req, key):
    """The request's {key: {...}} and the pod of its `volume_id` (required)."""
    body, item = proxy.body_of(req, key)
    if not isinstance(item.get("volume_id"), str):
        raise faults.Fault(400, f"Invalid input: {key}.volume_id is required")
    return body, item


def _microversion(req):
    """The caller's Cinder microversion as (major, minor); 3.0 when none, None for
    `latest`; a malformed one is left to the pod."""
    text = req.headers.get(MICROVERSION, "").strip()
    if not text:
        return (3, 0)
    found = re.fullmatch(r"(?:volume|block-storage)\s+(\d+)\.(\d+)", text)
    return (int(found[1]), int(found[2])) if found else None


def create_backup(conf, req, call, base, project):
    """A backup in its volume's pod, tagged with its routing id: the create is asked at
    microversion 3.43 at least, where Cinder keeps a backup's metadata."""
    body, backup = _volume_of(req, BACKUP)
    pod, _ = _volume_pod(conf, call, backup["volume_id"])
    zone = backup.pop("availability_zone", None)   # 3.51: the backup service's zone
    if zone and zone != pod["az_name"]:
        raise faults.Fault(400, f"Volume {backup['volume_id']} is in availability zone "
                                f"{pod['az_name']}, not {zone}: its backup is made there")
    headers = None
    wanted = _microversion(req)
    if wanted is not None and wanted < BACKUP_METADATA:
        headers = {MICROVERSION: "volume {}.{}".format(*BACKUP_METADATA)}
    return _create(conf, req, call, base, pod=pod, body=body, item=backup, key=BACKUP,
                   resource_type=BACKUP, path=f"/{project}/backups", headers=headers)


def restore_backup(conf, req, call, base, project, backup_id):
    """A restore into a volume of the backup's own pod; to a new volume it is a 501
    (Cinder would make a volume the gateway could not tag before it exists)."""
    pod, _ = _backup_pod(conf, call, backup_id)
    _, restore = proxy.body_of(req, "restore")
    volume_id = restore.get("volume_id")
    if not volume_id:
        raise faults.Fault(501, f"The Multisite gateway does not restore a backup to a new "
                                f"volume (the pod would make a volume no routing names): "
                                f"create a volume in availability zone {pod['az_name']} "
                                f"through the gateway and restore into it (volume_id), or "
                                f"create a volume from the backup (backup_id, "
                                f"microversion 3.47)")
    proxy.volume_in_pod(conf, call, volume_id, pod, other=f"backup {backup_id}",
                        rule="a backup restores only within one pod")
    return _rewrite(_forward(conf, pod, req, f"/{project}/backups/{backup_id}/restore"),
                    conf, pod, base)


def create_transfer(conf, req, call, base, project, collection):
    body, transfer = _volume_of(req, TRANSFER)
    pod, _ = _volume_pod(conf, call, transfer["volume_id"])
    return _create(conf, req, call, base, pod=pod, body=body, item=transfer, key=TRANSFER,
                   resource_type=TRANSFER, path=f"/{project}/{collection}", tag=False)


def accept_transfer(conf, req, call, base, project, collection, transfer_id):
    """The receiving project accepts with the transfer's id and key: the transfer's pod
    is asked (any project's transfer: the key decides), then the volume and its
    snapshots are routed to the receiver."""
    found = routings.find(conf, top_id=transfer_id, resource_type=TRANSFER)
    if not found or not found[0]["bottom_id"]:
        raise faults.Fault(404, f"Transfer {transfer_id} could not be found.")
    pod = pods.get(conf, found[0]["pod_id"])
    answer = _forward(conf, pod, req, f"/{project}/{collection}/{transfer_id}/accept")
    if answer.status < 300:
        routings.delete(conf, found[0]["id"])
        volume_id = answer.json()[TRANSFER]["volume_id"]
        _give(conf, req, call, pod, project, volume_id)
    return _rewrite(answer, conf, pod, base)


def _give(conf, req, call, pod, project, volume_id):
    """Route an accepted volume, and the snapshots that went with it, to the receiver."""
    moved = [(volume_id, VOLUME)]
    listed = proxy.get(conf, pod, req, f"/{project}/snapshots",
                       service_type=SERVICE_TYPE, query=f"volume_id={volume_id}")
    if listed.status == 200:
        moved += [(s["id"], SNAPSHOT) for s in listed.json()["snapshots"]]
    else:
        LOG.warning("Snapshots of an accepted volume not read: pod=%s volume=%s status=%s",
                    pod["pod_name"], volume_id, listed.status)
    for item_id, resource_type in moved:
        for routing in routings.find(conf, top_id=item_id, resource_type=resource_type):
            routings.update(conf, routing["id"], {"project_id": call.project_id})
    LOG.info("Transfer accepted: pod=%s volume=%s receiver=%s snapshots=%d",
             pod["pod_name"], volume_id, call.project_id, len(moved) - 1)


def not_routed(what, missing):
    def refuse(conf, req, call, base, match):
        raise faults.Fault(501, f"The Multisite gateway does not route {what} of Cinder "
                                f"({req.method} {match['path']}): {missing}")
    return refuse


def _unknown(routing):
    """An item of a pod that did not answer."""
    return {"id": routing["top_id"], "status": "UNKNOWN", "links": [],
            "created_at": routing["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000000")}


def _slim(item):
    if item.get("status") == "UNKNOWN":
        return {"id": item["id"], "status": "UNKNOWN", "links": []}
    return {"id": item["id"], "name": item.get("name"), "links": item.get("links", [])}


def _slim_transfer(item):
    return {**_slim(item), "volume_id": item.get("volume_id")}


def list_items(conf, req, call, base, project, *, collection, resource_type, detail):
    """Cinder's default order, newest first (created_at, then id), across the pods."""
    return proxy.merged_list(
        conf, req, call, base, service_type=SERVICE_TYPE,
        detail_path=f"/{project}/{collection}/detail",
        link_path=f"/{project}/{collection}" + ("/detail" if detail else ""),
        key=resource_type + "s", resource_type=resource_type, created="created_at",
        unknown=_unknown,
        slim=None if detail else _slim_transfer if resource_type == TRANSFER else _slim)


def one(conf, req, call, base, project, item_id, rest, *, collection, resource_type):
    """Show, update, delete, actions (extend, ...) and metadata of one routed item."""
    pod, routing = FINDERS[resource_type](conf, call, item_id)
    found = _forward(conf, pod, req, f"/{project}/{collection}/{item_id}{rest}")
    if req.method in ("GET", "DELETE") and not rest and found.status == 404:
        routings.delete(conf, routing["id"])  # gone from its pod (deleted): forget it
    elif resource_type == TRANSFER and req.method == "DELETE" and found.status < 300:
        routings.delete(conf, routing["id"])  # a transfer goes at once
    return _rewrite(found, conf, pod, base)


# -- the route table ------------------------------------------------------------------------
ITEM_REST = r"/action|/metadata(?:/[^/]+)?"


def _collection(name, resource_type, create, rest=ITEM_REST):
    """The list, detail, create and item routes of a collection; `rest` what may follow
    an item's id (None: nothing)."""
    item = r"/(?P<item_id>[^/]+)" + (rf"(?P<rest>{rest})?" if rest else "(?P<rest>)")
    return [
        (PROJECT + f"/{name}", ("POST",), lambda c, r, k, b, m: create(c, r, k, b, m["project"])),
        (PROJECT + f"/{name}", ("GET",), lambda c, r, k, b, m: list_items(
            c, r, k, b, m["project"], collection=name, resource_type=resource_type,
            detail=False)),
        (PROJECT + f"/{name}/detail", ("GET",), lambda c, r, k, b, m: list_items(
            c, r, k, b, m["project"], collection=name, resource_type=resource_type,
            detail=True)),
        (PROJECT + f"/{name}" + item, ("GET", "PUT", "DELETE", "POST"),
         lambda c, r, k, b, m: one(c, r, k, b, m["project"], m["item_id"], m["rest"] or "",
                                   collection=name, resource_type=resource_type)),
    ]


ROUTES = [
    (r"/?", ("GET",), lambda c, r, k, b, m: version(c, r, k, b)),
    (PROJECT + r"/os-availability-zone", ("GET",),
     lambda c, r, k, b, m: availability_zones(c, r, k, b)),
    (PROJECT + r"(?P<rest>/(?:types|group_types)(?:/[^/]+(?:/(?:extra_specs|group_specs))?)?)",
     ("GET",),
     lambda c, r, k, b, m: types(c, r, k, b, f"/{m['project']}{m['rest']}")),
    *_collection("volumes", VOLUME, create_volume),
    *_collection("snapshots", SNAPSHOT, create_snapshot),
    (PROJECT + r"(?P<path>/backups/[^/]+/export_record|/backups/import_record)",
     ("GET", "POST"), not_routed(
         "backup records", "an imported backup would have no routing; export and import "
         "in the pod directly")),
    (PROJECT + r"/backups/(?P<backup_id>[^/]+)/restore", ("POST",),
     lambda c, r, k, b, m: restore_backup(c, r, k, b, m["project"], m["backup_id"])),
    *_collection("backups", BACKUP, create_backup, rest=r"/action"),
    *[route for name in ("os-volume-transfer", "volume-transfers") for route in (
        (PROJECT + f"/{name}/(?P<transfer_id>[^/]+)/accept", ("POST",),
         lambda c, r, k, b, m, name=name: accept_transfer(
             c, r, k, b, m["project"], name, m["transfer_id"])),
        *_collection(name, TRANSFER, lambda c, r, k, b, p, name=name: create_transfer(
            c, r, k, b, p, name), rest=None),
    )],
    (PROJECT + r"(?P<path>/(?:groups|group_snapshots)(?:/.*)?)",
     ("GET", "POST", "PUT", "DELETE"), not_routed(
         "volume groups", "a group's volumes must all be in one pod and groups are not "
         "bound or routed yet; create volumes without group_id")),
]
COMPILED = proxy.compile_routes(ROUTES)


def dispatch(conf, req, call, path, *, base):
    """Answer one block-storage call; anything not routed is a 501 naming it."""
    return proxy.dispatch(COMPILED, SERVICE, conf, req, call, path, base=base)
