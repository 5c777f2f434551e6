"""The gateway's one way to the pods: forward a user's call, with the user's token, to a
pod's catalog endpoint, and hand back the pod's answer as it is.

The pods' endpoints come from the catalog read with Multisite's service credentials; the
call itself carries the caller's own token (one Keystone serves the big region), so each
pod applies its own policy and quotas to the user exactly as if called directly.
"""

import dataclasses
import json
import logging
import os
import re
import threading

import urllib3

from multisite.clients import session

LOG = logging.getLogger(__name__)

# services whose catalog URL ends with the project id (Cinder's .../v3/%(project_id)s): the
# endpoint is kept without it, the caller's path (below the gateway's) names the project
PROJECT_IN_URL = ("volumev3", "block-storage", "volume")
_PROJECT_TAIL = re.compile(r"/[0-9a-fA-F]{32}/?$")

# request headers a pod needs from the caller; the others stay at the gateway
FORWARDED_REQUEST = ("x-auth-token", "content-type", "accept", "openstack-api-version",
                     "x-openstack-nova-api-version", "x-openstack-request-id", "user-agent")
# response headers the caller gets from the pod
FORWARDED_RESPONSE = ("content-type", "openstack-api-version", "x-openstack-nova-api-version",
                      "x-openstack-request-id", "x-compute-request-id", "vary", "location")


# the errors a forward raises, for the gateway (which imports no other clients module)
RegionError = session.RegionError
UnknownRegion = session.UnknownRegion


class PodUnavailable(session.Unavailable):
    """The pod did not answer (refused, reset, timed out)."""


@dataclasses.dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


class Forwarder:
    """Forwards calls to pods; endpoints are cached per (pod, service type)."""

    def __init__(self, conf):
        self.conf = conf
        # urllib3 itself, not a keystoneauth/requests session: the caller's token is sent
        # as it is (no auth plugin, no retries, no redirects), and what a session adds on
        # every call (its environment scan for proxies and ~/.netrc, hooks, cookies) was
        # a fifth of the gateway's CPU for a server show. TLS: the system's CA store, or
        # the bundle REQUESTS_CA_BUNDLE names, as requests honoured it.
        self._http = urllib3.PoolManager(
            num_pools=64, maxsize=64, retries=False,
            ca_certs=os.environ.get("REQUESTS_CA_BUNDLE") or None)
        self._lock = threading.Lock()
        self._endpoints = {}

    def endpoint(self, pod, service_type):
        """The pod's catalog URL of `service_type` (e.g. http://h:8774/v2.1)."""
        key = (pod, service_type)
        with self._lock:
            if key in self._endpoints:
                return self._endpoints[key]
        sess = session.service_session(self.conf)
        with session.translate(pod, f"find the {service_type} endpoint"):
            url = sess.get_endpoint(service_type=service_type, region_name=pod,
                                    interface=self.conf.gateway.interface)
        if not url:
            raise session.UnknownRegion(pod, f"no {service_type} endpoint")
        if service_type in PROJECT_IN_URL:
            url = _PROJECT_TAIL.sub("", url)
        with self._lock:
            self._endpoints[key] = url.rstrip("/")
        return self._endpoints[key]

    def forward(self, pod, service_type, method, path, *, query="", headers=None, body=None):
        """The pod's Answer to `method` `path` (below the service's catalog URL)."""
        url = self.endpoint(pod, service_type) + path + (f"?{query}" if query else "")
        sent = {k: v for k, v in (headers or {}).items() if k.lower() in FORWARDED_REQUEST}
        try:
            resp = self._http.request(method, url, headers=sent, body=body or None,
                                      redirect=False, timeout=self.conf.gateway.pod_timeout)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # refused, reset, timed out, a TLS failure: the pod did not answer
            LOG.warning("Pod unreachable: pod=%s method=%s path=%s error=%s", pod, method,
                        path, exc)
            raise PodUnavailable(pod, f"{method} {path}: {exc.__class__.__name__}") from exc
        kept = {k: v for k, v in resp.headers.items() if k.lower() in FORWARDED_RESPONSE}
        return Answer(resp.status, kept, resp.data)


_FORWARDER = None
_FLOCK = threading.Lock()


def forwarder(conf):
    """The process's Forwarder (one connection pool, one endpoint cache)."""
    global _FORWARDER
    with _FLOCK:
        if _FORWARDER is None or _FORWARDER.conf is not conf:
            _FORWARDER = Forwarder(conf)
        return _FORWARDER


# what the routing reconciler lists and deletes, per routed resource type:
# (service type, collection, created field)
ROUTED = {"server": ("compute", "servers", "created"),
          "volume": ("volumev3", "volumes", "created_at"),
          "snapshot": ("volumev3", "snapshots", "created_at"),
          "backup": ("volumev3", "backups", "created_at")}
# the microversion a type's metadata needs (Cinder shows a backup's from 3.43)
MICROVERSIONS = {"backup": "3.43"}


class ServerJanitor:
    """What the routing reconciler asks of a pod, with Multisite's service credentials:
    the servers, volumes and snapshots a gateway create tagged, and deleting a duplicate."""

    def __init__(self, conf):
        self.conf = conf

    def tagged(self, pod, resource_type, tag):
        """[{"id", "created", "tag"}] of every item of the pod whose metadata has `tag`."""
        if resource_type not in ROUTED:
            return []   # a type with no metadata (transfers): nothing is tagged
        service_type, collection, created = ROUTED[resource_type]
        api = session.adapter(self.conf, service_type, pod,
                              microversion=MICROVERSIONS.get(resource_type))
        found, query = [], "all_tenants=1&limit=1000"
        with session.translate(pod, f"list {collection}"):
            while True:
                body = api.get(f"/{collection}/detail?{query}").json()
                found += [{"id": s["id"], "created": s.get(created, ""),
                           "tag": s["metadata"][tag]}
                          for s in body[collection] if tag in (s.get("metadata") or {})]
                if not body.get(f"{collection}_links") or not body[collection]:
                    return found
                query = f"all_tenants=1&limit=1000&marker={body[collection][-1]['id']}"

    def present(self, pod, resource_type):
        """The ids of every item of the type the pod lists (all projects; ids only)."""
        service_type, collection, _ = ROUTED[resource_type]
        api = session.adapter(self.conf, service_type, pod)
        found, query = set(), "all_tenants=1&limit=1000"
        with session.translate(pod, f"list {collection}"):
            while True:
                body = api.get(f"/{collection}?{query}").json()
                found.update(item["id"] for item in body[collection])
                if not body.get(f"{collection}_links") or not body[collection]:
                    return found
                query = f"all_tenants=1&limit=1000&marker={body[collection][-1]['id']}"

    def exists(self, pod, resource_type, item_id):
        """False when the pod answers 404 for the item, True when it shows it."""
        service_type, collection, _ = ROUTED[resource_type]
        api = session.adapter(self.conf, service_type, pod)
        with session.translate(pod, f"show {resource_type} {item_id}"):
            resp = api.get(f"/{collection}/{item_id}", raise_exc=False)
        if resp.status_code == 404:
            return False
        if resp.status_code >= 400:
            raise session.Unavailable(pod, f"show {resource_type} {item_id}: "
                                           f"{resp.status_code}")
        return True

    def delete(self, pod, resource_type, item_id):
        service_type, collection, _ = ROUTED[resource_type]
        api = session.adapter(self.conf, service_type, pod)
        with session.translate(pod, f"delete {resource_type} {item_id}"):
            resp = api.delete(f"/{collection}/{item_id}", raise_exc=False)
        if resp.status_code not in (202, 204, 404):
            raise session.Unavailable(pod, f"delete {resource_type} {item_id}: "
                                           f"{resp.status_code}")
