"""Capacity reads of one region: hypervisor statistics, storage pools, IP availability, images.

Each kind is read on its own; a failure of one is returned as its error and never
hides the others. Figures are as the region reports them (admin APIs).
"""

import urllib.parse

from multisite.clients import errors, health

KINDS = ("compute", "volume", "network", "image")
_IMAGE_PAGE = 1000
_IMAGE_PAGES = 100


def _json(transport, region, url, *, headers=None):
    resp = transport.request("GET", url, region=region, headers=headers, service="capacity")
    if resp.status_code >= 400:
        cls = errors.RegionUnavailable if resp.status_code >= 500 else errors.RegionRejected
        raise cls(region, f"GET {url} answered {resp.status_code}", status=resp.status_code)
    try:
        return resp.json()
    except ValueError as exc:
        raise errors.RegionUnavailable(region, f"GET {url}: body is not JSON") from exc


def compute(transport, region, url):
    stats = _json(transport, region, url + "/os-hypervisors/statistics",
                  headers=health.NOVA_HEADERS)["hypervisor_statistics"]
    return {"hypervisors": stats.get("count", 0), "running_vms": stats.get("running_vms", 0),
            "vcpus": stats.get("vcpus", 0), "vcpus_used": stats.get("vcpus_used", 0),
            "ram_mb": stats.get("memory_mb", 0), "ram_mb_used": stats.get("memory_mb_used", 0),
            "disk_gb": stats.get("local_gb", 0), "disk_gb_used": stats.get("local_gb_used", 0)}


def _gb(value):
    """A pool's capacity figure; Cinder drivers may say 'infinite' or 'unknown'."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _scheduler_up(transport, region, url):
    """True if the region lists a cinder-scheduler that is up and enabled."""
    found = _json(transport, region, url + "/os-services?binary=cinder-scheduler")
    return any(s.get("binary") == "cinder-scheduler" and s.get("state") == "up"
               and s.get("status") != "disabled" for s in found.get("services", ()))


def volume(transport, region, url):
    # Cinder answers get_pools by an RPC call to its scheduler. With no scheduler up,
    # that call holds one of the region's API workers until Cinder's RPC timeout (60 s
    # by default), long after our own timeout gave up; each pass would pin another
    # worker and the region's other callers (the quota kind's reads) would wait behind
    # them. os-services is a database read: ask it first.
    if not _scheduler_up(transport, region, url):
        raise errors.RegionUnavailable(
            region, "no cinder-scheduler is up: storage pools not read (Cinder would hold "
                    "the call until its RPC timeout)")
    pools = _json(transport, region, url + "/scheduler-stats/get_pools?detail=true")["pools"]
    total = free = 0.0
    unknown = 0
    for pool in pools:
        caps = pool.get("capabilities") or {}
        pool_total, pool_free = _gb(caps.get("total_capacity_gb")), _gb(
            caps.get("free_capacity_gb"))
        if pool_total is None or pool_free is None:
            unknown += 1
            continue
        total += pool_total
        free += pool_free
    return {"pools": len(pools), "pools_unknown": unknown, "total_gb": round(total, 3),
            "free_gb": round(free, 3), "used_gb": round(total - free, 3)}


def network(transport, region, url, *, max_networks=200):
    base = url + ("" if url.endswith("/v2.0") else "/v2.0")
    found = _json(transport, region, base + "/network-ip-availabilities")
    nets = found["network_ip_availabilities"]
    listed = sorted(nets, key=lambda n: -(n.get("used_ips") or 0))[:max_networks]
    return {"networks": len(nets),
            "ips_total": sum(int(n.get("total_ips") or 0) for n in nets),
            "ips_used": sum(int(n.get("used_ips") or 0) for n in nets),
            "per_network": [{"network_id": n.get("network_id"),
                             "network_name": n.get("network_name"),
                             "project_id": n.get("project_id"),
                             "ips_total": int(n.get("total_ips") or 0),
                             "ips_used": int(n.get("used_ips") or 0)} for n in listed]}


def image(transport, region, url):
    base = health.version_url("image", url).rstrip("/")
    next_url = f"{base}/v2/images?limit={_IMAGE_PAGE}"
    count = size = 0
    for _page in range(_IMAGE_PAGES):
        body = _json(transport, region, next_url)
        for img in body.get("images", ()):
            count += 1
            size += int(img.get("size") or 0)
        following = body.get("next")
        if not following:
            return {"images": count, "bytes": size}
        next_url = urllib.parse.urljoin(base + "/", following.lstrip("/"))
    raise errors.RegionUnavailable(region, f"more than {_IMAGE_PAGE * _IMAGE_PAGES} images")


READERS = {"compute": compute, "volume": volume, "network": network, "image": image}


def read(transport, region, kind, url, *, max_networks=200):
    """({figures} or None, error text or None) of one kind."""
    try:
        if kind == "network":
            return network(transport, region, url, max_networks=max_networks), None
        return READERS[kind](transport, region, url), None
    except errors.RegionError as exc:
        return None, str(exc)[:health.MAX_ERROR]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return None, f"{region}: {kind}: unexpected answer: {exc!r}"[:health.MAX_ERROR]
