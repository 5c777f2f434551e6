"""Benchmark-only simulated regions: a Keystone catalog for N regions and the quota calls.

A load generator's target, never evidence of correctness. One asyncio process serves:

* Keystone on --port: POST /v3/auth/tokens (any credentials; the catalog lists compute,
  block-storage and network for every region), GET /v3/projects (the --projects ids),
  GET /v3/OS-EP-FILTER/projects/{p}/endpoints (empty: every region applies).
* Region i on --port + i: Nova GET os-quota-sets/{p}/detail and PUT os-quota-sets/{p},
  Cinder GET os-quota-sets/{p}?usage=True and PUT, Neutron GET quotas/{p}/details and
  PUT quotas/{p}; each answers after --delay seconds. Usage is a fixed pseudo-random
  function of (region, project); limits are kept in memory.
* GET /stats on the Keystone port: calls per region and method, peak in-flight calls.

    python -m bench.fake_regions --regions 20 --projects 5000 --delay 0.05 --port 21000
"""

import argparse
import asyncio
import collections
import hashlib
import json
import re
import signal

NOVA = {"instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128, "key_pairs": 100,
        "server_groups": 10, "server_group_members": 10}
CINDER = {"volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10,
          "backup_gigabytes": 1000, "groups": 10, "per_volume_gigabytes": -1}
NEUTRON = {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
           "security_group": 10, "security_group_rule": 100, "subnetpool": -1}
DEFAULTS = {"nova": NOVA, "cinder": CINDER, "neutron": NEUTRON}

# Health probes (bench/region_probes.py): version documents and service status lists.
PROBE_PATHS = {
    "/compute/v2.1": {"version": {"id": "v2.1", "version": "2.96", "status": "CURRENT"}},
    "/compute/v2.1/os-services": {"services": [{"status": "enabled", "state": "up"}]},
    "/volume/": {"versions": [{"id": "v3.0", "version": "3.70", "status": "CURRENT"}]},
    "/volume/v3/admin/os-services": {"services": [{"status": "enabled", "state": "up"}]},
    "/network/": {"versions": [{"id": "v2.0", "status": "CURRENT"}]},
    "/network/v2.0/agents": {"agents": [{"alive": True, "admin_state_up": True}]},
}

REGION_PATHS = [
    ("GET", re.compile(r"^/compute/v2\.1/os-quota-sets/([^/?]+)/detail$"), "nova"),
    ("PUT", re.compile(r"^/compute/v2\.1/os-quota-sets/([^/?]+)$"), "nova"),
    ("GET", re.compile(r"^/volume/v3/[^/]+/os-quota-sets/([^/?]+)$"), "cinder"),
    ("PUT", re.compile(r"^/volume/v3/[^/]+/os-quota-sets/([^/?]+)$"), "cinder"),
    ("GET", re.compile(r"^/network/v2\.0/quotas/([^/?]+)/details$"), "neutron"),
    ("PUT", re.compile(r"^/network/v2\.0/quotas/([^/?]+)$"), "neutron"),
]


def region_name(i):
    return f"Region{i:03d}"


def project_ids(count):
    return [hashlib.md5(f"bench-project-{i}".encode()).hexdigest() for i in range(count)]


class World:
    def __init__(self, *, regions, projects, delay, port, host="127.0.0.1"):
        self.regions = regions
        self.projects = project_ids(projects)
        self.delay = delay
        # The last region answers probes after slow_delay (the "slowest region").
        self.slow_delay = delay
        self.port = port
        self.host = host
        self.limits = {}
        self.calls = collections.Counter()
        self.inflight = collections.Counter()
        self.peak = collections.Counter()

    def usage(self, region, project, name):
        digest = hashlib.md5(f"{region}/{project}/{name}".encode()).digest()
        return digest[0] % 4     # 0..3 of everything

    def catalog(self):
        def ep(url, region):
            return {"id": hashlib.md5(url.encode()).hexdigest(), "interface": "public",
                    "region": region, "region_id": region, "url": url}

        keystone = f"http://{self.host}:{self.port}/v3"
        entries = {"identity": [], "compute": [], "block-storage": [], "network": []}
        for i in range(1, self.regions + 1):
            name, base = region_name(i), f"http://{self.host}:{self.port + i}"
            entries["identity"].append(ep(keystone, name))
            entries["compute"].append(ep(f"{base}/compute/v2.1", name))
            entries["block-storage"].append(ep(f"{base}/volume/v3/admin", name))
            entries["network"].append(ep(f"{base}/network", name))
        return [{"type": t, "name": t, "id": t, "endpoints": eps} for t, eps in entries.items()]

    def token(self):
        return {"token": {
            "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": "2026-01-01T00:00:00.000000Z",
            "user": {"id": "admin", "name": "admin", "domain": {"id": "default",
                                                                "name": "Default"}},
            "project": {"id": "admin", "name": "admin", "domain": {"id": "default",
                                                                   "name": "Default"}},
            "roles": [{"id": "admin", "name": "admin"}],
            "catalog": self.catalog()}}

    def quota_body(self, region, service, project, detail):
        stored = self.limits.get((region, service, project), {})
        out = {}
        for name, default in DEFAULTS[service].items():
            limit = stored.get(name, default)
            if not detail:
                out[name] = limit
            elif service == "neutron":
                out[name] = {"limit": limit, "used": self.usage(region, project, name),
                             "reserved": 0}
            else:
                out[name] = {"limit": limit, "in_use": self.usage(region, project, name),
                             "reserved": 0}
        return {"quota" if service == "neutron" else "quota_set": out}

    async def region_call(self, region, method, path, body, query=""):
        if method == "GET" and path in PROBE_PATHS:
            self.calls[(region, "probe")] += 1
            await asyncio.sleep(self.slow_delay if region == region_name(self.regions)
                                else self.delay)
            return 200, PROBE_PATHS[path]
        for verb, pattern, service in REGION_PATHS:
            m = pattern.match(path)
            if verb != method or m is None:
                continue
            project = m.group(1)
            key = (region, f"{service} {method}")
            self.calls[key] += 1
            self.inflight[region] += 1
            self.peak[region] = max(self.peak[region], self.inflight[region])
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.inflight[region] -= 1
            if method == "PUT":
                values = json.loads(body or b"{}")
                values = values.get("quota") or values.get("quota_set") or {}
                self.limits.setdefault((region, service, project), {}).update(values)
                return 200, self.quota_body(region, service, project, False)
            return 200, self.quota_body(region, service, project, True)
        return 404, {"error": f"no route {method} {path}"}

    async def keystone_call(self, method, path, body):
        if method == "POST" and path == "/v3/auth/tokens":
            return 201, self.token(), {"X-Subject-Token": "bench-token"}
        if method == "GET" and path in ("/v3", "/v3/"):
            await asyncio.sleep(self.delay)
            return 200, {"version": {"id": "v3.14", "status": "stable"}}, {}
        if method == "GET" and path.startswith("/v3/projects"):
            return 200, {"projects": [{"id": p, "name": p, "enabled": True,
                                       "domain_id": "default"} for p in self.projects],
                         "links": {"next": None}}, {}
        if method == "GET" and path.startswith("/v3/OS-EP-FILTER/projects/"):
            return 200, {"endpoints": [], "links": {"next": None}}, {}
        if method == "GET" and path == "/stats":
            by_region = collections.Counter()
            for (region, _kind), n in self.calls.items():
                by_region[region] += n
            return 200, {"calls": sum(self.calls.values()),
                         "by_kind": _by_kind(self.calls),
                         "by_region": dict(by_region), "peak_inflight": dict(self.peak)}, {}
        if method == "POST" and path == "/stats/reset":
            self.calls.clear()
            self.peak.clear()
            self.limits.clear()
            return 200, {}, {}
        return 404, {"error": f"no route {method} {path}"}, {}


def _by_kind(calls):
    out = collections.Counter()
    for (_region, kind), n in calls.items():
        out[kind] += n
    return dict(out)


async def _read_request(reader):
    line = await reader.readline()
    if not line:
        return None
    method, target, _version = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        h = await reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    if int(headers.get("content-length", 0) or 0):
        body = await reader.readexactly(int(headers["content-length"]))
    path, _, query = target.partition("?")
    return method, path, query, headers, body


def _response(status, payload, extra=None):
    data = json.dumps(payload).encode()
    reason = {200: "OK", 201: "Created", 404: "Not Found"}.get(status, "OK")
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json",
            f"Content-Length: {len(data)}", "Connection: keep-alive"]
    head += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def handler(world, region):
    async def handle(reader, writer):
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, query, _headers, body = request
                if region is None:
                    status, payload, extra = await world.keystone_call(method, path, body)
                else:
                    status, payload = await world.region_call(region, method, path, body,
                                                              query)
                    extra = None
                writer.write(_response(status, payload, extra))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
    return handle


async def serve(world, ready=None):
    servers = [await asyncio.start_server(handler(world, None), world.host, world.port,
                                          backlog=1024)]
    for i in range(1, world.regions + 1):
        servers.append(await asyncio.start_server(
            handler(world, region_name(i)), world.host, world.port + i, backlog=1024))
    if ready is not None:
        ready()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per region call")
    parser.add_argument("--port", type=int, default=21000,
                        help="Keystone port; region i listens on port + i")
    parser.add_argument("--slow-delay", type=float, default=None,
                        help="seconds per probe call of the last region (default --delay)")
    args = parser.parse_args(argv)
    world = World(regions=args.regions, projects=args.projects, delay=args.delay,
                  port=args.port)
    if args.slow_delay is not None:
        world.slow_delay = args.slow_delay
    asyncio.run(serve(world, ready=lambda: print(f"ready keystone=http://127.0.0.1:"
                                                 f"{args.port}/v3", flush=True)))


if __name__ == "__main__":
    main()
