"""Full profile, after start: wait for the regions' own service lists, then add base resources."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request

from multisite.devcloud import layout as L
from multisite.devcloud.configs import EXTERNAL_PHYSNET
from multisite.devcloud.keystone_setup import Keystone
from multisite.devcloud.services import DevcloudError, Service

FLAVOR = "devcloud.tiny"  # 1 vCPU, 64 MB, 1 GB: FakeDriver runs nothing
IMAGE = "devcloud-image"  # a tiny raw image (FakeDriver never reads it)
EXTERNAL_NETWORK = "devcloud-public"
EXTERNAL_CIDR = "172.24.4.0/24"


class Api:
    """Admin calls to one region's services (stdlib only: this runs outside the venv)."""

    def __init__(self, layout: L.Layout, index: int) -> None:
        self.layout = layout
        self.index = index
        ks = Keystone(layout.keystone_url)
        ks.login()
        self.token = ks.token
        self.project_id = ks.get("/auth/projects")["projects"]
        self.project_id = next(p["id"] for p in self.project_id if p["name"] == L.ADMIN_PROJECT)

    def url(self, service: str, path: str) -> str:
        base = f"http://{L.HOST}:{self.layout.port(service, self.index)}"
        prefix = {"nova": "/v2.1", "cinder": f"/v3/{self.project_id}", "neutron": "/v2.0",
                  "glance": "/v2"}[service]
        return base + prefix + path

    def call(self, method: str, service: str, path: str, body=None, *, raw: bytes | None = None,
             headers: dict | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body else None)
        req = urllib.request.Request(self.url(service, path), data=data, method=method)
        req.add_header("X-Auth-Token", self.token)
        req.add_header("Accept", "application/json")
        req.add_header("Content-Type", "application/json")
        if service == "nova":
            req.add_header("OpenStack-API-Version", "compute 2.60")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read()
        except urllib.error.HTTPError as exc:
            raise DevcloudError(f"{method} {req.full_url}: HTTP {exc.code}: "
                                f"{exc.read().decode(errors='replace')[:300]}") from exc
        return json.loads(text) if text else None


def _wait(what: str, check, deadline: float, log, revive=None) -> float:
    """Poll `check()` (what is still missing) until nothing is; `revive()` first on every
    poll: a daemon that died after it answered (nova-compute has a start-up race in Nova's
    cell scatter-gather: "dictionary changed size during iteration") is started again."""
    t0 = time.monotonic()
    last = None
    while True:
        if revive is not None:
            revive()
        try:
            missing = check()
        except (DevcloudError, OSError) as exc:
            missing = str(exc)
        if not missing:
            took = time.monotonic() - t0
            log(f"{what}: ok after {took:.1f} s")
            return took
        if missing != last:
            last = missing
        if time.monotonic() > deadline:
            raise DevcloudError(f"{what}: still not ready: {missing}")
        time.sleep(2)


# Host programs the full profile's services run (a missing one fails them only later, in
# their own logs: cinder-volume then reports up without a usable NFS pool).
HOST_TOOLS = (("mount.nfs", "nfs-common"), ("qemu-img", "qemu-utils"))


def missing_host_tools(path: str | None = None) -> list[str]:
    """The Debian packages to install for the host programs that are not found."""
    search = path if path is not None else os.environ.get("PATH", "")
    search = os.pathsep.join([search, "/sbin", "/usr/sbin"])
    return [package for tool, package in HOST_TOOLS if shutil.which(tool, path=search) is None]


def check_region(api: Api, deadline: float, log, revive=None) -> None:
    """The region's own lists say everything is up: os-services, volume services, agents."""
    region = L.region_name(api.index)
    svc = Service("nova", api.index, api.layout, profile="full")

    def nova_services():
        rows = api.call("GET", "nova", "/os-services")["services"]
        up = {r["binary"] for r in rows if r["state"] == "up" and r["status"] == "enabled"}
        return sorted({"nova-conductor", "nova-scheduler", "nova-compute"} - up)

    def hypervisors():
        rows = api.call("GET", "nova", "/os-hypervisors")["hypervisors"]
        return [] if any(r["hypervisor_hostname"] for r in rows) else ["no hypervisor yet"]

    def cinder_services():
        rows = api.call("GET", "cinder", "/os-services")["services"]
        up = {r["binary"] for r in rows if r["state"] == "up"}
        return sorted({"cinder-scheduler", "cinder-volume", "cinder-backup"} - up)

    def cinder_pools():
        # the volume service heartbeats even when its driver failed to start; only a
        # started driver reports a pool to the scheduler
        pools = api.call("GET", "cinder", "/scheduler-stats/get_pools")["pools"]
        return [] if pools else ["no cinder-volume pool reported (see cinder-volume's log)"]

    def agents():
        rows = api.call("GET", "neutron", f"/agents?host={svc.compute_host}")["agents"]
        return [] if any(r["alive"] for r in rows) else [f"no live L2 agent on {svc.compute_host}"]

    _wait(f"{region} nova services", nova_services, deadline, log, revive)
    _wait(f"{region} compute node in placement/cell", hypervisors, deadline, log, revive)
    _wait(f"{region} cinder services", cinder_services, deadline, log, revive)
    _wait(f"{region} cinder volume pool", cinder_pools, deadline, log, revive)
    _wait(f"{region} neutron L2 agent", agents, deadline, log, revive)


def ensure_resources(api: Api, log) -> None:
    """An external provider network, a flavor and an image in the region (get or create)."""
    region = L.region_name(api.index)
    nets = api.call("GET", "neutron", f"/networks?name={EXTERNAL_NETWORK}")["networks"]
    if nets:
        net = nets[0]
    else:
        net = api.call("POST", "neutron", "/networks", {"network": {
            "name": EXTERNAL_NETWORK, "router:external": True, "shared": False,
            "provider:network_type": "flat", "provider:physical_network": EXTERNAL_PHYSNET,
        }})["network"]
    if not api.call("GET", "neutron", f"/subnets?network_id={net['id']}")["subnets"]:
        api.call("POST", "neutron", "/subnets", {"subnet": {
            "network_id": net["id"], "name": f"{EXTERNAL_NETWORK}-subnet", "ip_version": 4,
            "cidr": EXTERNAL_CIDR, "gateway_ip": "172.24.4.1", "enable_dhcp": False,
        }})
    flavors = api.call("GET", "nova", "/flavors")["flavors"]
    if not any(f["name"] == FLAVOR for f in flavors):
        api.call("POST", "nova", "/flavors", {"flavor": {
            "name": FLAVOR, "ram": 64, "vcpus": 1, "disk": 1}})
    images = api.call("GET", "glance", f"/images?name={IMAGE}")["images"]
    if not any(i["status"] == "active" for i in images):
        for stale in images:
            api.call("DELETE", "glance", f"/images/{stale['id']}")
        image = api.call("POST", "glance", "/images", {
            "name": IMAGE, "disk_format": "raw", "container_format": "bare",
            "visibility": "public"})
        api.call("PUT", "glance", f"/images/{image['id']}/file", raw=b"\0" * 1024 * 1024,
                 headers={"Content-Type": "application/octet-stream"})
    log(f"{region}: external network {EXTERNAL_NETWORK} ({EXTERNAL_CIDR}), flavor {FLAVOR}, "
        f"image {IMAGE}")


def finish(layout: L.Layout, regions: int, deadline: float, log=print, revive=None) -> None:
    for index in range(1, regions + 1):
        api = Api(layout, index)
        check_region(api, deadline, log, revive)
        ensure_resources(api, log)
