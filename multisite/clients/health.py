"""Health probes of a region's services: version documents and service status lists.

Each probe is one or two GETs through a clients.http.Transport whose timeout is the
[health] timeout, with the service token (so a probe also proves that the region
accepts it). Nothing here decides what a result means; reconcilers/region_health does.
"""

import re
import time

from multisite.clients import errors

SERVICES = ("identity", "compute", "volume", "network", "image")
# Keystone catalog types of each probed service, preferred first.
CATALOG_TYPES = {
    "identity": ("identity",),
    "compute": ("compute",),
    "volume": ("block-storage", "volumev3", "volumev2", "volume"),
    "network": ("network",),
    "image": ("image",),
}
# Nova's os-services keeps its pre-2.53 shape (ids, not uuids) at the base microversion.
NOVA_HEADERS = {"OpenStack-API-Version": "compute 2.1", "X-OpenStack-Nova-API-Version": "2.1"}
_VERSION_SUFFIX = re.compile(r"/v[0-9][0-9.]*(/.*)?$")
MAX_ERROR = 500


def endpoints(catalog):
    """{region: {service: public url}} of the probed services, from catalog entries."""
    out = {}
    for entry in catalog:
        service = next((s for s, types in CATALOG_TYPES.items()
                        if entry.get("type") in types), None)
        if service is None:
            continue
        rank = CATALOG_TYPES[service].index(entry["type"])
        for ep in entry.get("endpoints", ()):
            region = ep.get("region_id") or ep.get("region")
            if ep.get("interface") != "public" or not region:
                continue
            held = out.setdefault(region, {}).get(service)
            if held is None or rank < held[1]:
                out[region][service] = (ep["url"].rstrip("/"), rank)
    return {r: {s: url for s, (url, _rank) in svcs.items()} for r, svcs in out.items()}


def version_url(service, url):
    """Where the service's version document is: the endpoint itself for Keystone and
    Nova (a versioned URL), the server root for Cinder (its URL holds a project)."""
    if service in ("volume", "network", "image"):
        return _VERSION_SUFFIX.sub("", url) + "/"
    return url


def parse_version(body):
    """The API version a version document advertises (the CURRENT one's microversion)."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("version"), dict):
        one = body["version"]
        return one.get("version") or one.get("id")
    versions = body.get("versions")
    if isinstance(versions, dict):       # Keystone's {"versions": {"values": [...]}}
        versions = versions.get("values")
    if not isinstance(versions, list) or not versions:
        return None
    current = [v for v in versions if isinstance(v, dict)
               and str(v.get("status", "")).upper() in ("CURRENT", "STABLE")]
    chosen = (current or [v for v in versions if isinstance(v, dict)] or [{}])[0]
    return chosen.get("version") or chosen.get("id")


def summarize(service, body):
    """{"up", "down", "disabled", "total"} of Nova/Cinder os-services or Neutron agents."""
    counts = {"up": 0, "down": 0, "disabled": 0, "total": 0}
    if service == "network":
        for agent in body.get("agents", ()):
            counts["total"] += 1
            if not agent.get("admin_state_up", True):
                counts["disabled"] += 1
            else:
                counts["up" if agent.get("alive") else "down"] += 1
        return counts
    for svc in body.get("services", ()):
        counts["total"] += 1
        if svc.get("status") == "disabled":
            counts["disabled"] += 1
        else:
            counts["up" if svc.get("state") == "up" else "down"] += 1
    return counts


def status_url(service, url):
    if service in ("compute", "volume"):
        return url + "/os-services"
    if service == "network":
        return url + ("" if url.endswith("/v2.0") else "/v2.0") + "/agents"
    return None


def _get(transport, region, url, *, service, headers=None):
    resp = transport.request("GET", url, region=region, headers=headers, service=service)
    if resp.status_code >= 500 or resp.status_code == 429:
        raise errors.RegionUnavailable(region, f"GET {url} answered {resp.status_code}",
                                       status=resp.status_code)
    return resp


def probe(transport, region, service, url, *, clock=time.monotonic):
    """One service's probe: {"reachable", "version", "latency_ms", "error", "services"}.

    Reachable means it answered its version document and status list without a
    connection error, timeout or 5xx. A refused status list (403: no admin role) leaves
    `services` None and says so in `error`, but the service is reachable.
    """
    headers = NOVA_HEADERS if service == "compute" else None
    result = {"reachable": False, "version": None, "latency_ms": None, "error": None,
              "services": None}
    started = clock()
    try:
        resp = _get(transport, region, version_url(service, url), service=service,
                    headers=headers)
        result["latency_ms"] = round((clock() - started) * 1000.0, 3)
        try:
            result["version"] = parse_version(resp.json())
        except ValueError:
            result["version"] = None
        listing = status_url(service, url)
        if listing is not None:
            resp = _get(transport, region, listing, service=service, headers=headers)
            if resp.status_code >= 400:
                result["error"] = f"GET {listing} answered {resp.status_code}"
            else:
                result["services"] = summarize(service, resp.json())
        result["reachable"] = True
    except errors.RegionError as exc:
        result["error"] = str(exc)[:MAX_ERROR]
        result["latency_ms"] = round((clock() - started) * 1000.0, 3)
    except ValueError as exc:          # a status list that is not JSON
        result["error"] = f"{service}: unreadable answer: {exc}"[:MAX_ERROR]
    return result

