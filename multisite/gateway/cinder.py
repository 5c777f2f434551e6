"""The block-storage proxy (Cinder v3): zones from the pods, volumes and snapshots routed.

Paths are Cinder's below the gateway's `/volume/v3`: `/{project_id}/volumes...`. A volume
create binds the project to a pod of the requested AZ (as a server create: the same
binding, so a project's servers and volumes of one AZ share a pod), writes the routing
first (`pending-...`, no bottom id), tags the volume's metadata with the routing id,
forwards, then completes the routing with the pod's id (ids are the pod's: no
translation). A snapshot goes to its volume's pod, routed the same way.
"""

import functools
import logging
import uuid

from multisite.gateway import faults, images, proxy
from multisite.objects import pods, routings

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "volumev3"
SERVICE = "Cinder"
VOLUME = "volume"
SNAPSHOT = "snapshot"
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
    """Volume types as one pod has them (the pods are expected to define the same)."""
    pod = proxy.any_pod(conf)
    return _rewrite(_forward(conf, pod, req, path), conf, pod, base)


def _volume_pod(conf, call, volume_id):
    return proxy.routed(conf, call, volume_id, VOLUME,
                        f"Volume {volume_id} could not be found.")


def _snapshot_pod(conf, call, snapshot_id):
    return proxy.routed(conf, call, snapshot_id, SNAPSHOT,
                        f"Snapshot {snapshot_id} could not be found.")


def _create_pod(conf, call, volume):
    """The pod of a new volume: its source's (snapshot, volume) or a pod of its zone."""
    zone = volume.get("availability_zone")
    for field, find in (("snapshot_id", _snapshot_pod), ("source_volid", _volume_pod)):
        if volume.get(field):
            if not isinstance(volume[field], str):
                raise faults.Fault(400, f"Invalid input: {field} must be a string")
            pod, _ = find(conf, call, volume[field])
            if zone and zone.split(":", 1)[0] != pod["az_name"]:
                raise faults.Fault(400, f"{field} {volume[field]} is in availability zone "
                                        f"{pod['az_name']}, not {zone}")
            return pod
    zone = proxy.requested_zone(zone, conf, call)
    return pods.bind(conf, project_id=call.project_id, az_name=zone)


def _create(conf, req, call, base, *, pod, body, item, key, resource_type, path):
    """Route then forward a create: the routing first, the item tagged with its id."""
    if item.get("metadata") is None:
        item["metadata"] = {}   # openstacksdk sends "metadata": null
    if not isinstance(item["metadata"], dict):
        raise faults.Fault(400, "Invalid input: metadata must be an object")
    routing = routings.create(conf, top_id=f"pending-{uuid.uuid4()}", pod_id=pod["pod_id"],
                              project_id=call.project_id, resource_type=resource_type)
    item["metadata"][ROUTING_TAG] = str(routing["id"])
    LOG.info("Creating a %s: project=%s pod=%s routing=%s", resource_type, call.project_id,
             pod["pod_name"], routing["id"])
    # a pod that does not answer raises: the routing stays for the reconciler
    proxy.test_pause(conf, "before_pod", routing)
    found = _forward(conf, pod, req, path, body=proxy.json_bytes(body))
    proxy.test_pause(conf, "after_pod", routing)
    if found.status >= 400:
        routings.delete(conf, routing["id"])
        return proxy.answer(found)
    new_id = found.json()[key]["id"]
    routings.update(conf, routing["id"], {"top_id": new_id, "bottom_id": new_id})
    return _rewrite(found, conf, pod, base)


def create_volume(conf, req, call, base, project):
    body, volume = proxy.body_of(req, VOLUME)
    pod = _create_pod(conf, call, volume)
    images.ensure_in_pod(conf, req, call, pod, volume, service=SERVICE_TYPE)
    # the pod's own storage zone (Cinder's default_availability_zone): the user's zone
    # named the pod
    volume.pop("availability_zone", None)
    return _create(conf, req, call, base, pod=pod, body=body, item=volume, key=VOLUME,
                   resource_type=VOLUME, path=f"/{project}/volumes")


def create_snapshot(conf, req, call, base, project):
    body, snapshot = proxy.body_of(req, SNAPSHOT)
    if not isinstance(snapshot.get("volume_id"), str):
        raise faults.Fault(400, "Invalid input: snapshot.volume_id is required")
    pod, _ = _volume_pod(conf, call, snapshot["volume_id"])
    return _create(conf, req, call, base, pod=pod, body=body, item=snapshot, key=SNAPSHOT,
                   resource_type=SNAPSHOT, path=f"/{project}/snapshots")


def _unknown(routing):
    """An item of a pod that did not answer."""
    return {"id": routing["top_id"], "status": "UNKNOWN", "links": [],
            "created_at": routing["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000000")}


def _slim(item):
    if item.get("status") == "UNKNOWN":
        return {"id": item["id"], "status": "UNKNOWN", "links": []}
    return {"id": item["id"], "name": item.get("name"), "links": item.get("links", [])}


def list_items(conf, req, call, base, project, *, collection, resource_type, detail):
    """Cinder's default order, newest first (created_at, then id), across the pods."""
    return proxy.merged_list(
        conf, req, call, base, service_type=SERVICE_TYPE,
        detail_path=f"/{project}/{collection}/detail",
        link_path=f"/{project}/{collection}" + ("/detail" if detail else ""),
        key=collection, resource_type=resource_type, created="created_at",
        unknown=_unknown, slim=None if detail else _slim)


def one(conf, req, call, base, project, item_id, rest, *, collection, resource_type):
    """Show, update, delete and actions (extend, ...) of one routed volume or snapshot."""
    find = _volume_pod if resource_type == VOLUME else _snapshot_pod
    pod, routing = find(conf, call, item_id)
    found = _forward(conf, pod, req, f"/{project}/{collection}/{item_id}{rest}")
    if req.method in ("GET", "DELETE") and not rest and found.status == 404:
        routings.delete(conf, routing["id"])  # gone from its pod (deleted): forget it
    return _rewrite(found, conf, pod, base)


# -- the route table ------------------------------------------------------------------------
def _collection(name, resource_type, create):
    item = r"/(?P<item_id>[^/]+)(?P<rest>/action)?"
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
    (PROJECT + r"(?P<rest>/types(?:/[^/]+(?:/extra_specs)?)?)", ("GET",),
     lambda c, r, k, b, m: types(c, r, k, b, f"/{m['project']}{m['rest']}")),
    *_collection("volumes", VOLUME, create_volume),
    *_collection("snapshots", SNAPSHOT, create_snapshot),
]
COMPILED = proxy.compile_routes(ROUTES)


def dispatch(conf, req, call, path, *, base):
    """Answer one block-storage call; anything not routed is a 501 naming it."""
    return proxy.dispatch(COMPILED, SERVICE, conf, req, call, path, base=base)
