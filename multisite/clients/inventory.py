"""Listing calls of every region (Nova, Cinder, Neutron, Glance), concurrent, with a deadline.

Two readers share this module: the inventory (one project's resources, normalised) and
the address audit (every project's Neutron objects that hold an address). Calls go
through the pooled transport (clients.http) with the service credentials; pages are
followed (`limit`/`marker` links). A region that does not answer within the deadline is
reported as unreachable and its calls are left to finish in the background: the caller
never waits for it longer than the deadline.
"""

import concurrent.futures
import logging
import queue
import threading
import time
from urllib import parse

from multisite.clients import errors

LOG = logging.getLogger(__name__)

SERVERS, VOLUMES, NETWORKS, SUBNETS, PORTS, ROUTERS = (
    "servers", "volumes", "networks", "subnets", "ports", "routers")
FLOATING_IPS, SECURITY_GROUPS, KEYPAIRS, IMAGES = (
    "floating_ips", "security_groups", "keypairs", "images")
TYPES = (SERVERS, VOLUMES, NETWORKS, SUBNETS, PORTS, ROUTERS, FLOATING_IPS,
         SECURITY_GROUPS, KEYPAIRS, IMAGES)

# type -> (service, Neutron collection) for the Neutron resources
NEUTRON_TYPES = {NETWORKS: "networks", SUBNETS: "subnets", PORTS: "ports",
                 ROUTERS: "routers", FLOATING_IPS: "floatingips",
                 SECURITY_GROUPS: "security_groups"}
SERVICE_OF = {SERVERS: "nova", KEYPAIRS: "nova", VOLUMES: "cinder", IMAGES: "glance",
              **dict.fromkeys(NEUTRON_TYPES, "neutron")}

# The Neutron objects the address index is built from, and the fields it needs.
ADDRESS_COLLECTIONS = {
    "networks": "id,name,project_id,tags,router:external",
    "subnets": "id,project_id,network_id,cidr,ip_version,allocation_pools,subnetpool_id",
    "ports": "id,project_id,network_id,mac_address,fixed_ips,allowed_address_pairs,"
             "device_owner,device_id",
    "floatingips": "id,project_id,floating_ip_address,fixed_ip_address,port_id,"
                   "floating_network_id,router_id",
    "routers": "id,project_id,external_gateway_info",
    "subnetpools": "id,address_scope_id",
    "address-scopes": "id,name",
}

NOVA_SERVERS = {"OpenStack-API-Version": "compute 2.47",
                "X-OpenStack-Nova-API-Version": "2.47"}
NOVA_KEYPAIRS = {"OpenStack-API-Version": "compute 2.10",
                 "X-OpenStack-Nova-API-Version": "2.10"}
PAGE = 1000
MAX_PAGES = 10_000

_POOL_LOCK = threading.Lock()
_POOL = None


def _pool():
    """The threads region listings run on (shared; a dead region holds one per call)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = concurrent.futures.ThreadPoolExecutor(64, thread_name_prefix="listing")
        return _POOL


def _q(value):
    return parse.quote(str(value), safe="")


class Lister:
    """Paginated GETs to one region's services ({service: url} from the catalog)."""

    def __init__(self, name, http, endpoints, *, page=PAGE):
        self.name = name
        self.http = http
        self.endpoints = dict(endpoints)
        self.page = page

    def _get(self, url, headers=None):
        resp = self.http.request("GET", url, region=self.name, headers=headers)
        status = resp.status_code
        if status >= 500 or status == 429:
            raise errors.RegionUnavailable(self.name, f"GET {url} answered {status}",
                                           status=status)
        if status >= 400:
            raise errors.RegionRejected(self.name, f"GET {url} answered {status}: "
                                        f"{resp.text[:200]}", status=status)
        try:
            return resp.json()
        except ValueError as exc:
            raise errors.RegionUnavailable(self.name, f"GET {url}: body is not JSON") from exc

    def _base(self, service):
        base = self.endpoints.get(service)
        if base is None:
            raise errors.RegionRejected(self.name, f"no {service} endpoint in the catalog")
        return base

    def _collect(self, url, key, *, headers=None, next_of=None):
        """Every item of a paginated collection."""
        items = []
        for _ in range(MAX_PAGES):
            body = self._get(url, headers)
            page = body.get(key) or []
            items.extend(page)
            url = next_of(body, url) if page else None
            if not url:
                return items
        raise errors.RegionUnavailable(self.name, f"more than {MAX_PAGES} pages of {key}")

    @staticmethod
    def _links_next(key):
        def next_of(body, _url):
            for link in body.get(f"{key}_links") or ():
                if link.get("rel") == "next":
                    return link.get("href")
            return None
        return next_of

    def neutron(self, collection, query=""):
        base = self._base("neutron")
        prefix = "" if base.endswith("/v2.0") else "/v2.0"
        key = collection.replace("-", "_")
        sep = "&" if query else ""
        url = f"{base}{prefix}/{collection}?{query}{sep}limit={self.page}"
        return self._collect(url, key, next_of=self._links_next(key))

    def servers(self, project_id):
        url = (f"{self._base('nova')}/servers/detail?all_tenants=1&project_id="
               f"{_q(project_id)}&limit={self.page}")
        return self._collect(url, "servers", headers=NOVA_SERVERS,
                             next_of=self._links_next("servers"))

    def keypairs(self, user_id):
        url = f"{self._base('nova')}/os-keypairs?user_id={_q(user_id)}"
        body = self._get(url, NOVA_KEYPAIRS)
        return [k.get("keypair", k) for k in body.get("keypairs") or ()]

    def volumes(self, project_id):
        url = (f"{self._base('cinder')}/volumes/detail?all_tenants=1&project_id="
               f"{_q(project_id)}&limit={self.page}")
        return self._collect(url, "volumes", next_of=self._links_next("volumes"))

    def images(self, project_id):
        """Images the project owns, and images shared with it (accepted or pending)."""
        base = self._base("glance")

        def next_of(body, _url):
            nxt = body.get("next")
            return f"{base}{nxt}" if nxt else None

        owned = self._collect(f"{base}/v2/images?owner={_q(project_id)}&limit={self.page}",
                              "images", next_of=next_of)
        shared = self._collect(f"{base}/v2/images?visibility=shared&member_status=all"
                               f"&limit={self.page}", "images", next_of=next_of)
        out = list(owned)
        for image in shared:
            if image.get("owner") == project_id:
                continue
            members = self._get(f"{base}/v2/images/{_q(image['id'])}/members")
            if any(m.get("member_id") == project_id for m in members.get("members") or ()):
                out.append(dict(image, shared_with_project=True))
        return out

    def inventory(self, kind, *, project_id, user_id):
        """One inventory type of one project (keypairs: one user's), normalised."""
        if kind in NEUTRON_TYPES:
            raw = self.neutron(NEUTRON_TYPES[kind], f"project_id={_q(project_id)}")
        elif kind == SERVERS:
            raw = self.servers(project_id)
        elif kind == KEYPAIRS:
            raw = self.keypairs(user_id) if user_id else []
        elif kind == VOLUMES:
            raw = self.volumes(project_id)
        else:
            raw = self.images(project_id)
        return [normalize(kind, self.name, obj) for obj in raw]

    def address_objects(self):
        """{collection: [objects]} of every project, as reconcilers.addresses reads them."""
        raw = {}
        for collection, fields in ADDRESS_COLLECTIONS.items():
            query = "&".join(f"fields={_q(f)}" for f in fields.split(","))
            raw[collection.replace("-", "_")] = self.neutron(collection, query)
        return raw


def _addresses(server):
    return {net: [a.get("addr") for a in addrs or ()]
            for net, addrs in (server.get("addresses") or {}).items()}


def _fixed_ips(port):
    return [f.get("ip_address") for f in port.get("fixed_ips") or ()]


# type -> (fields copied as they are, {our name: function of the raw object})
_SHAPES = {
    SERVERS: (("status",), {
        "flavor": lambda s: (s.get("flavor") or {}).get("original_name")
        or (s.get("flavor") or {}).get("id"),
        "image": lambda s: (s.get("image") or {}).get("id") if s.get("image") else None,
        "availability_zone": lambda s: s.get("OS-EXT-AZ:availability_zone"),
        "addresses": _addresses}),
    VOLUMES: (("status", "size", "availability_zone"), {
        "attached_to": lambda v: [a.get("server_id") for a in v.get("attachments") or ()]}),
    NETWORKS: (("status", "shared"), {"external": lambda n: n.get("router:external")}),
    SUBNETS: (("cidr", "ip_version", "network_id", "gateway_ip"), {}),
    PORTS: (("status", "mac_address", "network_id", "device_owner", "device_id"),
            {"fixed_ips": _fixed_ips}),
    ROUTERS: (("status",), {
        "external_gateway_ips": lambda r: [
            f.get("ip_address") for f in
            (r.get("external_gateway_info") or {}).get("external_fixed_ips") or ()]}),
    FLOATING_IPS: (("status", "floating_ip_address", "fixed_ip_address", "port_id",
                    "floating_network_id"), {}),
    SECURITY_GROUPS: (("description",), {}),
    KEYPAIRS: (("fingerprint",), {"id": lambda k: k.get("name"),
                                  "key_type": lambda k: k.get("type", "ssh")}),
    IMAGES: (("status", "visibility", "size", "owner", "disk_format"), {
        "shared": lambda i: bool(i.get("shared_with_project"))}),
}


def normalize(kind, region, raw):
    """{type, region, id, name, ...the type's own fields} of one listed object."""
    copied, computed = _SHAPES[kind]
    item = {"type": kind, "region": region, "id": raw.get("id"), "name": raw.get("name")}
    for name in copied:
        item[name] = raw.get(name)
    for name, fn in computed.items():
        item[name] = fn(raw)
    return item


def fan_out(calls, *, timeout):
    """Run {key: fn} concurrently; (results, failures) after at most `timeout` seconds.

    failures: {key: RegionError}; a call still running at the deadline fails with
    RegionUnavailable("did not answer within ...") and is left to finish on its own.
    """
    results, failures = {}, {}
    for key, result, exc in fan_in(calls, timeout=timeout):
        if exc is None:
            results[key] = result
        else:
            failures[key] = exc
    # in the order of the calls, not of their ends
    return ({key: results[key] for key in calls if key in results},
            {key: failures[key] for key in calls if key in failures})


def fan_in(calls, *, timeout):
    """Start {key: fn} concurrently; an iterator of (key, result, None) or (key, None,
    RegionError), each as soon as its call ends, then the calls still running at the
    deadline (`timeout` seconds from now) as RegionUnavailable, left to finish on their
    own. The deadline bounds the waiting only: the time the caller spends between two
    items (e.g. writing one region while the others are read) never fails a call that
    ended meanwhile."""
    pool = _pool()
    ended = queue.SimpleQueue()
    futures = {}
    for key, fn in calls.items():
        future = pool.submit(fn)
        futures[future] = key
        future.add_done_callback(ended.put)
    return _as_they_end(futures, ended, time.monotonic() + max(0.0, timeout), timeout)


def _as_they_end(futures, ended, deadline, timeout):
    pending = dict(futures)
    while pending:
        try:
            future = ended.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        yield _outcome(pending.pop(future), future)
    for future, key in pending.items():
        if future.done():
            yield _outcome(key, future)
            continue
        region = key[0] if isinstance(key, tuple) else key
        yield key, None, errors.RegionUnavailable(region,
                                                  f"did not answer within {timeout:g} s")


def _outcome(key, future):
    exc = future.exception()
    if exc is None:
        return key, future.result(), None
    if isinstance(exc, errors.RegionError):
        return key, None, exc
    region = key[0] if isinstance(key, tuple) else key
    LOG.error("Listing %s failed unexpectedly: %s", key, exc, exc_info=exc)
    return key, None, errors.RegionUnavailable(region, f"listing failed: {exc}")


def listers(cloud, regions):
    """{region: Lister} for the regions still in the catalog (others are skipped)."""
    if not regions:
        return {}
    catalog = cloud.catalog.all_regions()
    transport = cloud.transport
    return {name: Lister(name, transport, catalog[name]) for name in regions
            if name in catalog}
