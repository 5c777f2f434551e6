"""What every service proxy of the gateway does alike: forward to a pod, rewrite the pod's
links to the gateway's, pick the zone of a create, and merge a list across the pods."""

import concurrent.futures
import json
import logging
import re
import threading
import time
import urllib.parse

import webob

from multisite.clients import gateway as pod_client
from multisite.gateway import faults
from multisite.objects import pods, routings

LOG = logging.getLogger(__name__)


def json_response(body, status=200, headers=None, *, text=None):
    """A JSON response of `body`, or of `text` when it is already serialized."""
    resp = webob.Response(body=(json.dumps(body) if text is None else text).encode(),
                          status=status, content_type="application/json", charset="UTF-8")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def json_bytes(body):
    return json.dumps(body).encode()


def answer(found):
    """The pod's answer as the caller's response (status, body, kept headers)."""
    resp = webob.Response(body=found.body, status=found.status)
    for key, value in found.headers.items():
        resp.headers[key] = value
    if not found.body:
        del resp.content_type
    return resp


def forward(conf, pod, req, path, *, service_type, method=None, body=None, query=None,
            headers=None):
    """The pod's Answer to the caller's request (or `method`, `body`, `query`, the caller's
    headers updated with `headers`) at `path`."""
    try:
        return pod_client.forwarder(conf).forward(
            pod["pod_name"], service_type, method or req.method, path,
            query=req.query_string if query is None else query,
            headers=_headers(req, headers or {}),
            body=req.body if body is None else body)
    except pod_client.UnknownRegion as exc:
        raise faults.pod_unavailable(pod["pod_name"],
                                     f"no {service_type} endpoint ({exc})") from None
    except pod_client.RegionError as exc:
        raise faults.pod_unavailable(pod["pod_name"], str(exc)) from None


def _headers(req, changes):
    """The caller's headers with `changes` in place of the same names (any case)."""
    names = {name.lower() for name in changes}
    kept = {k: v for k, v in req.headers.items() if k.lower() not in names}
    return {**kept, **changes}


def get(conf, pod, req, path, *, service_type, query=""):
    """A GET of the pod on the caller's behalf (same token and microversion)."""
    return forward(conf, pod, req, path, service_type=service_type, method="GET", body=b"",
                   query=query)


def rewrite(found, conf, pod, base, *, service_type):
    """The pod's answer with its endpoint's URLs replaced by the gateway's."""
    root = pod_client.forwarder(conf).endpoint(pod["pod_name"], service_type)
    return answer(pod_client.Answer(found.status, found.headers,
                                    found.body.replace(root.encode(), base.encode())))


def bottom_pods(conf):
    return [p for p in pods.list_pods(conf) if p["az_name"]]


def any_pod(conf):
    found = bottom_pods(conf)
    if not found:
        raise faults.Fault(503, "No pod is registered: register pods with POST /v1.0/pods")
    return found[0]


def zones(conf):
    return sorted({p["az_name"] for p in bottom_pods(conf)})


def _zones_named(conf):
    """The pods' zones as a 400 names them."""
    return ", ".join(zones(conf)) or "none registered"


def requested_zone(zone, conf, call):
    """The pod AZ a create asks for: `zone`, or the project's only bound AZ; 400 else.
    A named zone is not looked up here: `bound_pod` refuses one that no pod serves."""
    if zone is not None and not isinstance(zone, str):
        raise faults.Fault(400, "Invalid input: availability_zone must be a string")
    if not zone:
        bound = {p["az_name"] for p in pods.bindings_of(conf, call.project_id)}
        if len(bound) == 1:
            return bound.pop()
        raise faults.Fault(400, "Give an availability zone (--availability-zone): one of "
                                + _zones_named(conf))
    return zone.split(":", 1)[0]


def bound_pod(conf, call, zone):
    """The caller's project's pod in the AZ a create asks for (`requested_zone`), bound
    now if it had none there; 400 naming the pods' zones for a zone no pod serves (the
    zones are listed only then: a create reads the binding alone)."""
    zone = requested_zone(zone, conf, call)
    try:
        return pods.bind(conf, project_id=call.project_id, az_name=zone)
    except pods.NoPodInZone:
        raise faults.Fault(400, f"Availability zone {zone!r} is not a pod's zone: one of "
                                + _zones_named(conf)) from None


def routed(conf, call, top_id, resource_type, missing):
    """(pod, routing) of a routed resource of the caller's project; 404 `missing` else."""
    found = routings.find_with_pod(conf, top_id=top_id, resource_type=resource_type,
                                   project_id=None if call.is_admin else call.project_id)
    if found is None:
        raise faults.Fault(404, missing)
    routing, pod = found
    return pod, routing


def volume_in_pod(conf, call, volume_id, pod, *, other, rule):
    """A volume of the caller's project routed to `pod`: Cinder's 404 when it has no
    routing, a 400 naming both pods (`other` is what is in `pod`, `rule` why) else."""
    found = routings.find(conf, top_id=str(volume_id), resource_type="volume",
                          project_id=None if call.is_admin else call.project_id)
    if not found:
        raise faults.Fault(404, f"Volume {volume_id} could not be found.")
    if found[0]["pod_id"] != pod["pod_id"]:
        there = pods.get(conf, found[0]["pod_id"])
        raise faults.Fault(400, f"Volume {volume_id} is in pod {there['pod_name']} "
                                f"(availability zone {there['az_name']}), {other} in pod "
                                f"{pod['pod_name']} (availability zone {pod['az_name']}): "
                                f"{rule}")


def body_of(req, key):
    """The request's `{key: {...}}` object; 400 otherwise."""
    try:
        body = json.loads(req.body or b"null")
        item = body[key]
        if not isinstance(item, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise faults.Fault(400, f'Invalid request body: expected {{"{key}": {{...}}}}') \
            from None
    return body, item


def all_tenants(call, query):
    return call.is_admin and query.get("all_tenants") not in (None, "0", "false", "False")


def _page(conf, pod, req, path, params, service_type):
    """One page of a pod's list, decoded; a refusal is a fault naming the pod."""
    got = get(conf, pod, req, path, service_type=service_type,
              query=urllib.parse.urlencode(params))
    if got.status >= 400:
        raise faults.Fault(got.status, f"Pod {pod['pod_name']} answered "
                                       f"{got.status}: {got.body[:200]!r}")
    return got.json()


def _read_pod(conf, pod, req, path, query, *, service_type, key, cap):
    """Every item the pod lists for the query (its own pages followed), up to `cap`."""
    found, params = [], dict(query)
    while True:
        body = _page(conf, pod, req, path, params, service_type)
        found += body[key]
        if not body.get(f"{key}_links") or not body[key] or len(found) >= cap:
            return found[:cap]
        params["marker"] = body[key][-1]["id"]


def _read_window(conf, pod, req, path, query, *, service_type, key, created, want, after):
    """Up to `want` items of the pod that come after `after` (a (created, id) key, or None)
    in its order, newest first: pages of `want` asked, followed only while short."""
    found, params = [], dict(query, limit=str(want))
    while True:
        body = _page(conf, pod, req, path, params, service_type)
        page = body[key]
        found += [i for i in page if after is None or _key(i, created) < after]
        if len(found) >= want or not page or not body.get(f"{key}_links"):
            return found[:want]
        params["marker"] = page[-1]["id"]


def _key(item, created):
    return (item.get(created) or "", item["id"])


def _marker_key(conf, call, req, path, *, marker, service_type, key, created,
                resource_type):
    """The (created, id) sort key of the marker, read from its own pod; None when that pod
    does not answer (then the pods are read whole and the marker looked for in them)."""
    found = routings.find(conf, top_id=marker, resource_type=resource_type,
                          project_id=None if call.is_admin else call.project_id)
    if not found or not found[0]["bottom_id"]:
        raise faults.Fault(400, f"marker [{marker}] not found")
    pod = pods.get(conf, found[0]["pod_id"])
    try:
        got = get(conf, pod, req, f"{path.rsplit('/', 1)[0]}/{marker}",
                  service_type=service_type, query="")
    except faults.Fault:
        return None
    if got.status == 404:
        raise faults.Fault(400, f"marker [{marker}] not found")
    if got.status >= 400:
        return None
    return _key(got.json()[key[:-1]], created)


_POOL = None
_POOL_LOCK = threading.Lock()
POOL_SIZE = 32   # pods read at once by one gateway process (its lists, all requests)


def _pool():
    """The process's thread pool for reading pods in parallel: made once, not per list
    (starting a thread per pod and list cost ~5 ms of a 3-pod list on the loaded devcloud)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = concurrent.futures.ThreadPoolExecutor(
                max_workers=POOL_SIZE, thread_name_prefix="gateway-pod-read")
        return _POOL


def merged_list(conf, req, call, base, *, service_type, detail_path, link_path, key,
                resource_type, created, unknown, slim):
    """One list over every pod the caller's project uses (all pods for an admin's
    all_tenants), read in parallel, newest first (`created`, id), then the caller's
    limit/marker applied across the pods. With a `limit`, each pod is asked for the
    `limit` items after the marker (the page's items are among the first `limit` of each
    pod), and a full page has a next link, as Nova's and Cinder's own pages (the last one
    may be empty); without, each pod is read whole (up to list_max_per_pod). A pod that does
    not answer lists its routed items as `unknown(routing)`; `slim(item)` is an item of
    the non-detail list, or None for the detail list."""
    query = dict(req.GET.items())
    limit = query.pop("limit", None)
    marker = query.pop("marker", None)
    if limit is not None and (not limit.isdigit() or int(limit) < 0):
        raise faults.Fault(400, f"limit must be a non-negative integer, not {limit!r}")
    targets = bottom_pods(conf) if all_tenants(call, query) else pods.pods_of(
        conf, call.project_id, resource_type)
    after = None
    if marker is not None:
        after = _marker_key(conf, call, req, detail_path, marker=marker, key=key,
                            service_type=service_type, created=created,
                            resource_type=resource_type)

    def read(pod):
        if limit is not None and (marker is None or after is not None):
            return _read_window(conf, pod, req, detail_path, query, service_type=service_type,
                                key=key, created=created, want=max(int(limit), 1),
                                after=after)
        return _read_pod(conf, pod, req, detail_path, query, service_type=service_type,
                         key=key, cap=conf.gateway.list_max_per_pod)

    merged, down, waited = [], [], {}
    futures = {_pool().submit(_timed, read, pod, waited): pod for pod in targets}
    for future, pod in futures.items():
        try:
            merged += future.result()
        except faults.Fault as exc:
            LOG.warning("Pod missing from a list: pod=%s service=%s error=%s",
                        pod["pod_name"], service_type, exc.message)
            down.append(pod)
    for pod in down:
        filters = {"pod_id": pod["pod_id"], "resource_type": resource_type}
        if not all_tenants(call, query):
            filters["project_id"] = call.project_id
        merged += [unknown(r) for r in routings.list_routings(conf, filters=filters)[0]
                   if r["bottom_id"]]
    merged.sort(key=lambda item: _key(item, created), reverse=True)
    if marker is not None and after is not None:
        merged = [item for item in merged if _key(item, created) < after]
    elif marker is not None:
        ids = [item["id"] for item in merged]
        if marker not in ids:
            raise faults.Fault(400, f"marker [{marker}] not found")
        merged = merged[ids.index(marker) + 1:]
    body = {}
    if limit is not None and len(merged) >= int(limit):
        merged = merged[:int(limit)]
        if merged:
            params = dict(req.GET.items(), marker=merged[-1]["id"])
            body[f"{key}_links"] = [{"rel": "next", "href": f"{base}{link_path}?"
                                     + urllib.parse.urlencode(params)}]
    body[key] = merged if slim is None else [slim(item) for item in merged]
    text = json.dumps(body)
    for pod in targets:
        try:
            root = pod_client.forwarder(conf).endpoint(pod["pod_name"], service_type)
        except pod_client.RegionError:
            continue
        text = text.replace(root, base)
    timing = server_timing(targets, waited)
    return json_response(None, text=text, headers={"Server-Timing": timing} if timing else None)


def _timed(read, pod, waited):
    """read(pod), its wall time (ms) kept in waited[pod id] whether it answers or not."""
    started = time.perf_counter()
    try:
        return read(pod)
    finally:
        waited[pod["pod_id"]] = (time.perf_counter() - started) * 1000


def server_timing(targets, waited):
    """The Server-Timing header of a merged list: how long each pod's read took (its pages
    and the wait for the pod, as the gateway saw it), so that a caller or a benchmark can
    tell the pods' time from the gateway's own in the same request. The pod's name is a
    quoted string, escaped and ASCII (a header is latin-1)."""
    return ", ".join(f"pod;desc={json.dumps(pod['pod_name'])};dur="
                     f"{waited.get(pod['pod_id'], 0.0):.1f}" for pod in targets)


def compile_routes(routes):
    """[(regex, methods, handler)] of a proxy's [(pattern, methods, handler)]."""
    return [(re.compile(f"^{pattern}$"), methods, handler)
            for pattern, methods, handler in routes]


def dispatch(compiled, service, conf, req, call, path, *, base):
    """The first route matching the path and method answers; else a 501 naming the call.
    A handler gets (conf, req, caller, base, the route's named groups)."""
    for regex, methods, handler in compiled:
        found = regex.match(path)
        if found and req.method in methods:
            return handler(conf, req, call, base, found.groupdict())
    raise faults.not_implemented(req.method, path or "/", service)


def test_pause(conf, where, routing):
    """The test-only hook ([gateway] test_pause_at): stop a create at `where` for an hour,
    for a test to kill the process there."""
    if conf.gateway.test_pause_at == where:
        LOG.warning("TEST HOOK: paused %s: routing=%s", where, routing["id"])
        time.sleep(3600)
