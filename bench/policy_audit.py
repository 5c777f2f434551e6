"""Benchmark: one audit pass of N sync policies over R simulated regions, nothing drifted.

Simulated regions (bench/fake_regions.py, served here with a Neutron security-group list:
every project has the same groups in every region). N policies are spread over P projects
(N/P security groups each, targets "all"), so the pass's lower bound of region calls is
P x R (one list per type, project and region), and of time

    bound = calls / (R x region_concurrency) x median call latency

(each region takes at most region_concurrency calls at once, so its P calls need at
least P / region_concurrency call latencies; the latency is the median of 20 calls made
one at a time through the engine's client, same run). After the passes the same calls
are also made directly (threads, no database, no audit) and timed beside the bound.

    python -m bench.policy_audit --policies 1000 --projects 200 --regions 20 --delay 0.05
"""

import argparse
import asyncio
import functools
import hashlib
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import urllib.request
import uuid
from urllib import parse

from bench import fake_regions
from multisite import rpc
from multisite.conf import CONF
from multisite.db import migration
from multisite.objects import sync_policies

GROUPS = 5


def _group(region, project, i):
    gid = hashlib.md5(f"{region}/{project}/{i}".encode()).hexdigest()
    return {"id": gid, "name": f"web{i}", "description": "", "stateful": True,
            "project_id": project, "revision_number": 1,
            "security_group_rules": [
                {"id": f"{gid}-r{j}", "direction": "ingress", "ethertype": "IPv4",
                 "protocol": "tcp", "port_range_min": 20 + j, "port_range_max": 20 + j,
                 "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": None,
                 "remote_address_group_id": None, "description": ""} for j in range(4)]}


class PolicyWorld(fake_regions.World):
    """The fake regions plus GET /network/v2.0/security-groups?project_id=P: the same
    groups (names and rules) in every region, under ids of that region and project."""

    @functools.cache   # noqa: B019 (one world per benchmark process)
    def groups(self, region, project):
        return {"security_groups": [_group(region, project, i) for i in range(GROUPS)]}

    async def region_call(self, region, method, path, body, query=""):
        if method == "GET" and path == "/network/v2.0/security-groups":
            self.calls[(region, "neutron GET security-groups")] += 1
            self.inflight[region] += 1
            self.peak[region] = max(self.peak[region], self.inflight[region])
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.inflight[region] -= 1
            project = parse.parse_qs(query).get("project_id", [""])[0]
            return 200, self.groups(region, project)
        return await super().region_call(region, method, path, body, query)


def _serve(regions, delay, port, ready):
    world = PolicyWorld(regions=regions, projects=1, delay=delay, port=port)
    asyncio.run(fake_regions.serve(world, ready=ready.set))


def _stats(port, reset=False):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/stats" + ("/reset" if reset else ""),
                                 method="POST" if reset else "GET")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def _configure(args, workdir):
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", f"sqlite:///{workdir}/bench.sqlite", group="database")
    CONF.set_override("transport_url", "fake://")
    CONF.set_override("workers", args.workers, group="sync_policy")
    CONF.set_override("region_concurrency", args.region_concurrency, group="sync_policy")
    # the time bound below assumes regions x region_concurrency calls in flight
    CONF.set_override("read_concurrency", args.read_concurrency
                      or args.regions * args.region_concurrency, group="sync_policy")
    for name, value in (("auth_uri", f"http://127.0.0.1:{args.port}/v3"),
                        ("admin_username", "admin"), ("admin_password", "x"),
                        ("admin_tenant", "admin")):
        CONF.set_override(name, value, group="cache")
    migration.db_sync(CONF)
    return CONF


def run(args):
    from multisite.engine import manager as manager_mod
    from multisite.engine import policy_audit
    from multisite.engine import ring as ring_mod

    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, daemon=True,
                                     args=(args.regions, args.delay, args.port, ready))
    server.start()
    ready.wait(30)
    with tempfile.TemporaryDirectory() as workdir:
        conf = _configure(args, workdir)
        projects = [uuid.uuid4().hex for _ in range(args.projects)]
        for n in range(args.policies):
            sync_policies.create(conf, project_id=projects[n % len(projects)], user_id="u",
                                 resource_type="security_group",
                                 resources=[f"web{(n // len(projects)) % GROUPS}"],
                                 source=fake_regions.region_name(1), targets=None,
                                 on_drift="enforce")

        class Coordinator:
            ring = ring_mod.Alone()

        manager = manager_mod.Manager(conf, engine_id="bench", coordinator=Coordinator())
        ctl = manager.add(policy_audit.KIND)
        ctl.start()
        env = ctl.shared
        network = env.regions.network(fake_regions.region_name(2))
        network.list_security_groups("warm-up")          # token, catalog, connection
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            network.list_security_groups("latency")
            samples.append(time.perf_counter() - started)
        latency = statistics.median(samples)
        print(f"read_concurrency {conf.sync_policy.read_concurrency}, workers "
              f"{conf.sync_policy.workers}, region_concurrency "
              f"{conf.sync_policy.region_concurrency}", flush=True)
        labels = ["first pass (records every target)"] + [
            "steady pass (nothing changed)"] * args.steady_passes
        for label in labels:
            _stats(args.port, reset=True)
            parsed = env.parsed
            started, cpu = time.perf_counter(), time.process_time()
            summary = manager.resync(policy_audit.KIND_NAME)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            calls = _stats(args.port)["calls"]
            lower = args.projects * args.regions
            bound = calls / (args.regions * args.region_concurrency) * latency
            print(f"{label}: {args.policies} policies, {args.projects} projects, "
                  f"{args.regions} regions: region calls {calls} (lower bound {lower}: "
                  f"{calls / lower:.2f}x; lists parsed {env.parsed - parsed}), median call "
                  f"{latency * 1000:.1f} ms; "
                  f"time bound {bound:.2f} s, pass {wall:.2f} s = {wall / bound:.2f}x "
                  f"the bound; engine CPU {cpu:.2f} s ({cpu / calls * 1000:.2f} ms per "
                  f"call); keys {summary['keys']}; load average "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        direct(env, projects, args, latency)
        ctl.stop()
    server.terminate()


def direct(env, projects, args, latency):
    """The pass's calls made directly, same run: every project's list in every region
    through the engine's clients, at most region_concurrency per region, regions x
    region_concurrency threads; no database, no audit. What the engine adds to its
    calls is the pass's time over this one (the bound stays the lower bound)."""
    import concurrent.futures
    import threading

    gates = {fake_regions.region_name(i): threading.BoundedSemaphore(args.region_concurrency)
             for i in range(1, args.regions + 1)}

    def call(item):
        region, project = item
        with gates[region]:
            env.regions.network(region).read_security_groups(project)

    work = [(region, p) for p in projects for region in gates]
    with concurrent.futures.ThreadPoolExecutor(args.regions * args.region_concurrency) as pool:
        _stats(args.port, reset=True)
        started, cpu = time.perf_counter(), time.process_time()
        list(pool.map(call, work))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    calls = _stats(args.port)["calls"]
    bound = calls / (args.regions * args.region_concurrency) * latency
    print(f"the same calls made directly: region calls {calls}, {wall:.2f} s = "
          f"{wall / bound:.2f}x the bound; CPU {cpu:.2f} s; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--region-concurrency", type=int, default=8)
    parser.add_argument("--read-concurrency", type=int, default=0,
                        help="[sync_policy] read_concurrency (default regions x "
                             "region concurrency)")
    parser.add_argument("--steady-passes", type=int, default=2,
                        help="passes after the first (nothing changed)")
    parser.add_argument("--port", type=int, default=21500)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
