"""Lazy image sync at the gateway (issue 15; docs/images.md, "lazy"): a server or volume
create that names an image its pod lacks first has the image copied there, by the same
copy as `POST /v2/images/{id}/ensure` (a copy row and its work item, written through
objects/images.py; an engine's scan claims it), waits for the copy, then goes on with the
pod's image id. The user never sees that the image was not there.

The reads are the caller's (their token, through clients.gateway): the pod's Glance says
whether the caller can already use the image there, the source's Glance whether the caller
may read it at all (Glance's own visibility rules: own, public, community, accepted shared
images), so the gateway copies nothing the caller could not copy with `os-sync`.

What is decided (pure: `image_refs`, `with_pod_ids`, `plan`) is tested without I/O.
"""

import logging
import re
import threading
import time

from multisite.clients import gateway as pod_client
from multisite.gateway import faults
from multisite.objects import images, pods

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "image"
ORIGIN = "lazy"
# modes under which the gateway copies nothing (docs/images.md): `none` is explicit
# os-sync only, `controlled` is the rollout's to propagate
NO_LAZY_COPY = ("none", "controlled")

# decisions of `plan`
FORWARD, USE, COPY = "forward", "use", "copy"
# a pod's Glance that did not answer: the image is not known to be missing
UNKNOWN = {"status": "unknown"}
# a region with no Glance in the catalog (its Nova and Cinder use another region's, e.g.
# one Glance shared by the pods): nothing to copy to
NO_GLANCE = {"status": "no-glance"}
_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# (pod, project, image) the caller's read found active in the pod: {key: until (monotonic)}
# ([gateway] image_check_ttl); a create the pod refuses forgets its images' entries
_CHECKED = {}
_CHECKED_LOCK = threading.Lock()
_CHECKED_MAX = 10000


# -- pure -------------------------------------------------------------------------------------
def _ref_id(ref):
    """An image id of an imageRef (an id, or an href ending with it); None for no image
    or not an id (left to the pod to refuse)."""
    if not isinstance(ref, str):
        return None
    found = ref.rstrip("/").rsplit("/", 1)[-1]
    return found if _ID.match(found) else None


def image_refs(item, *, service):
    """The image ids a create names: Nova's `imageRef` and its block device mappings of
    `source_type: image`; Cinder's `imageRef`. In the order met, each once."""
    found = [_ref_id(item.get("imageRef"))]
    if service == "compute":
        for bdm in item.get("block_device_mapping_v2") or []:
            if isinstance(bdm, dict) and bdm.get("source_type") == "image":
                found.append(_ref_id(bdm.get("uuid")))
    return [i for i in dict.fromkeys(found) if i]


def with_pod_ids(item, ids, *, service):
    """Rewrite the create's image references in place: {top id: pod id}."""
    if _ref_id(item.get("imageRef")) in ids:
        item["imageRef"] = ids[_ref_id(item["imageRef"])]
    if service == "compute":
        for bdm in item.get("block_device_mapping_v2") or []:
            if isinstance(bdm, dict) and bdm.get("source_type") == "image" \
                    and _ref_id(bdm.get("uuid")) in ids:
                bdm["uuid"] = ids[_ref_id(bdm["uuid"])]


def plan(*, in_pod, mode, source, pod, in_source, copy):
    """(decision, detail) for one image a create names in `pod`.

    in_pod: the caller's read of the image (same id) in the pod's Glance, None (not
    there), UNKNOWN (the pod's Glance did not answer) or NO_GLANCE (none in the catalog);
    mode: the image's effective distribution mode (None: no mode); source: the region
    copied from; in_source: the caller's read there (None: not found or not visible);
    copy: the copy row of (image, pod), or None.
    - FORWARD: leave the create as it is (the pod answers, as Nova or Cinder would);
    - USE, pod id: an active copy under another id;
    - COPY: start (or join) the copy and wait for it.
    A 400 Fault for an image that is not active in the source.
    """
    if in_pod is not None and in_pod.get("status") == "active":
        return FORWARD, "the pod has the image"
    if in_pod is NO_GLANCE:
        return FORWARD, "the pod has no Glance of its own"
    if source is None or source == pod or mode in NO_LAZY_COPY:
        return FORWARD, f"no lazy copy (source {source}, mode {mode})"
    if in_source is None:
        return FORWARD, f"not visible in {source}"
    if in_source.get("status") != "active":
        raise faults.Fault(400, f"Image {in_source['id']} is {in_source.get('status')} in "
                                f"{source}, not active: it cannot be copied to pod {pod}")
    if copy is not None and copy["state"] == images.ACTIVE and copy["target_id"]:
        if copy["target_id"] == in_source["id"] and in_pod is None:   # deleted there
            return COPY, "the copy is gone from the pod"
        return USE, copy["target_id"]
    return COPY, "missing in the pod"


# -- I/O --------------------------------------------------------------------------------------
def _read(conf, req, region, image_id, *, must):
    """The caller's GET of an image in `region`'s Glance: the image, None (not found or
    not visible), NO_GLANCE (none in the catalog), UNKNOWN (it does not answer and
    `must` is False: else a 503 naming the region)."""
    try:
        found = pod_client.forwarder(conf).forward(
            region, SERVICE_TYPE, "GET", f"/v2/images/{image_id}", query="",
            headers={"X-Auth-Token": req.headers.get("X-Auth-Token", ""),
                     "Accept": "application/json"}, body=b"")
    except pod_client.UnknownRegion:
        return NO_GLANCE
    except pod_client.RegionError as exc:
        if not must:
            LOG.warning("Glance unreadable: region=%s image=%s error=%s", region, image_id,
                        exc)
            return UNKNOWN
        raise faults.pod_unavailable(region, f"image {image_id} cannot be read: {exc}") \
            from None
    if found.status in (403, 404):
        return None
    if found.status >= 400:
        if not must:
            return UNKNOWN
        raise faults.pod_unavailable(region, f"Glance answered {found.status} reading image "
                                             f"{image_id}")
    return found.json()


def _source_and_mode(conf, project_id, image_id):
    dists = images.distributions_of(conf, project_id)
    dist = dists.get(image_id) or dists.get(None)
    if dist is not None:
        return dist["source"], dist["mode"]
    top = pods.top_region(conf)
    return (top["pod_name"] if top else None), None


def _wait(conf, copy, pod, image_id):
    """The active copy; a 503 when it failed or is not active in time."""
    timeout = conf.gateway.image_ensure_timeout
    deadline = time.monotonic() + timeout
    while copy["state"] not in (images.ACTIVE, images.FAILED):
        if time.monotonic() >= deadline:
            raise faults.pod_unavailable(
                pod, f"image {image_id} is still being copied there (copy {copy['id']}, "
                     f"{copy['state']}) after {timeout:.0f} s ([gateway] "
                     f"image_ensure_timeout): retry the create later")
        time.sleep(0.2)
        copy = images.get_copy(conf, copy["id"]) or copy
    if copy["state"] == images.FAILED:
        raise faults.pod_unavailable(
            pod, f"image {image_id} could not be copied there (copy {copy['id']}): "
                 f"{copy['reason']}; the next create or ensure tries again")
    return copy


def _checked(region, project_id, image_id):
    until = _CHECKED.get((region, project_id, image_id))
    return until is not None and until > time.monotonic()


def _check(conf, region, project_id, image_id):
    ttl = conf.gateway.image_check_ttl
    if ttl <= 0:
        return
    with _CHECKED_LOCK:
        if len(_CHECKED) >= _CHECKED_MAX:
            now = time.monotonic()
            for key in [k for k, until in _CHECKED.items() if until <= now]:
                del _CHECKED[key]
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
        _CHECKED[(region, project_id, image_id)] = time.monotonic() + ttl


def refused_on_trust(pod, call, trusted, status):
    """Whether a create the pod answered with `status` should be made again with its
    images read: it named images taken on trust (ensure_in_pod's answer) and the pod
    refused it (4xx). Then their trust is forgotten (an image deleted there since is
    copied again, where its mode says so)."""
    if not trusted or not 400 <= status < 500:
        return False
    LOG.info("A create taken on trust was refused by its pod, reading its images again: "
             "pod=%s project=%s images=%s", pod["pod_name"], call.project_id,
             ",".join(trusted))
    with _CHECKED_LOCK:
        for image_id in trusted:
            _CHECKED.pop((pod["pod_name"], call.project_id, image_id), None)
    return True


def ensure_in_pod(conf, req, call, pod, item, *, service, trust=True):
    """Make every image the create `item` names usable in `pod`, rewriting its references
    to the pod's ids (in place). Waits for the copies ([gateway] image_ensure_timeout).

    An image the caller's read found active in the pod is not read again for [gateway]
    image_check_ttl seconds (a scale-out boots one image many times); a create the pod
    refuses (4xx) forgets it (refused_on_trust) and is asked again with `trust` False.
    Returns the image ids taken on trust (not read this time)."""
    ids, trusted = {}, []
    for image_id in image_refs(item, service=service):
        region = pod["pod_name"]
        if trust and _checked(region, call.project_id, image_id):
            trusted.append(image_id)
            continue          # read active there a moment ago (a burst of boots)
        in_pod = _read(conf, req, region, image_id, must=False)
        if in_pod is NO_GLANCE or (in_pod is not None and in_pod.get("status") == "active"):
            _check(conf, region, call.project_id, image_id)
            continue          # the common case: one read, nothing else
        source, mode = _source_and_mode(conf, call.project_id, image_id)
        in_source = None
        if source is not None and source != region and mode not in NO_LAZY_COPY:
            in_source = _read(conf, req, source, image_id, must=True)
            if in_source is NO_GLANCE:
                in_source = None
        copy = images.find_copy(conf, image_id, region)
        decision, detail = plan(in_pod=in_pod, mode=mode, source=source, pod=region,
                                in_source=in_source, copy=copy)
        if decision == FORWARD:
            continue
        if decision == USE:
            ids[image_id] = detail
            continue
        if copy is not None and copy["state"] == images.ACTIVE:
            copy, started = images.restart_copy(conf, copy["id"],
                                                from_states=(images.ACTIVE,))
        else:
            copy, started = images.ensure_copy(conf, project_id=call.project_id,
                                               image_id=image_id, source=source,
                                               region=region, origin=ORIGIN)
        LOG.info("Image missing in the pod, %s: project=%s image=%s source=%s pod=%s "
                 "copy=%s state=%s", "copying" if started else "joining the copy",
                 call.project_id, image_id, source, region, copy["id"], copy["state"])
        copy = _wait(conf, copy, region, image_id)
        if copy["target_id"] and copy["target_id"] != image_id:
            ids[image_id] = copy["target_id"]
    with_pod_ids(item, ids, service=service)
    return trusted
