"""Address audit and lookups over simulated regions: cost at 10k, 100k and 1M ports.

Each size runs in its own process (peak RSS is per process). A simulated region is a
list of Neutron objects as an admin listing returns them: /24 subnets of 250 ports
each, one IPv4 address and one MAC per port, spread over 500 projects; one subnet in 97
reuses the CIDR of the same project's subnet in the first region (so each of those
holds 250 IP conflicts and a CIDR conflict). Regions are generated one at a time and
turned into index entries at once, as the audit's region threads do.

The regions are read (simulated) in a thread of their own while the auditor writes the
regions already read, as an audit does (`--serial`: every region read first, then
written, the order before the pipeline).

Printed per size: the simulated region reads (building the Neutron lists), indexing
(Neutron lists to entries), the auditor's waiting for them, index write (first audit:
every row; second audit: nothing changed), the conflict computation (plan), conflicts
stored, wall and CPU of the whole first audit, the CPU seconds of each phase in its own
thread (`*_cpu_s`: a loaded machine stretches the wall figures, not these), peak RSS
after the first audit and at the end, the load average at start and end; then
`GET /v2/addresses?ip=` latency through the in-process WSGI app (p50/p99 over --lookups
random addresses, wall and CPU), beside the direct figure: the same lookups through
objects.addresses.search() alone.

    python -m bench.address_audit --sizes 10000,100000,1000000 --regions 50
"""

import argparse
import json
import os
import queue
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PORTS_PER_SUBNET = 250
PROJECTS = 500


def project(i):
    return f"{i % PROJECTS:032x}"


def region_raw(r, ports):
    """One simulated region with `ports` ports (raw Neutron lists)."""
    subnets = (ports + PORTS_PER_SUBNET - 1) // PORTS_PER_SUBNET
    raw = {"networks": [], "subnets": [], "ports": []}
    for k in range(subnets):
        p = project(k)
        reused = k % 97 == 0 and r > 0
        cidr = f"10.{k // 256 % 256}.{k % 256}.0/24" if reused else \
            f"{20 + r}.{k // 256 % 256}.{k % 256}.0/24"
        prefix = cidr.rsplit(".", 1)[0]
        net, sub = f"net-{r}-{k}", f"sub-{r}-{k}"
        raw["networks"].append({"id": net, "project_id": p, "name": net})
        raw["subnets"].append({"id": sub, "project_id": p, "network_id": net, "cidr": cidr,
                               "allocation_pools": [{"start": f"{prefix}.2",
                                                     "end": f"{prefix}.254"}]})
        for j in range(min(PORTS_PER_SUBNET, ports - k * PORTS_PER_SUBNET)):
            n = (r * 10_000_000) + k * PORTS_PER_SUBNET + j
            raw["ports"].append({
                "id": f"port-{r}-{k}-{j}", "project_id": p, "network_id": net,
                "mac_address": "fa:" + ":".join(f"{(n >> s) & 0xFF:02x}"
                                                for s in (32, 24, 16, 8, 0)),
                "device_owner": "compute:nova", "device_id": f"vm-{r}-{k}-{j}",
                "fixed_ips": [{"subnet_id": sub, "ip_address": f"{prefix}.{j + 3}"}]})
    return raw


def simulated_regions(regions, per_region, rules, timings, kept):
    """(region, entries) of each simulated region, read then indexed as the audit's
    region threads do (timings: wall seconds of both; kept: every region's entries, for
    the second audit)."""
    from multisite.reconcilers import addresses as planner

    for r in range(regions):
        mark, cpu = time.perf_counter(), time.thread_time()
        raw = region_raw(r, per_region)
        timings["read"] += time.perf_counter() - mark
        timings["read_cpu"] += time.thread_time() - cpu
        mark, cpu = time.perf_counter(), time.thread_time()
        name = f"Region{r:03d}"
        kept[name] = planner.index_entries(name, raw, rules)
        timings["index"] += time.perf_counter() - mark
        timings["index_cpu"] += time.thread_time() - cpu
        del raw
        yield name, kept[name]


def in_a_thread(stream):
    """The items of `stream`, produced in a thread of their own (as the audit's region
    threads read while the auditor writes the regions already read)."""
    items = queue.SimpleQueue()

    def produce():
        try:
            for item in stream:
                items.put(item)
        finally:
            items.put(None)

    thread = threading.Thread(target=produce, name="simulated-regions", daemon=True)
    thread.start()
    yield from iter(items.get, None)
    thread.join()


def one_size(total, regions, lookups, db_url, serial=False):
    from multisite import rpc
    from multisite.api import app as api_app
    from multisite.conf import CONF
    from multisite.db import migration
    from multisite.engine import address_audit

    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", db_url, group="database")
    CONF.set_override("auth_strategy", "noauth")
    CONF.set_override("transport_url", "fake://")
    migration.db_sync(CONF)
    auditor = address_audit.AddressAuditor(CONF, cloud=None, notify=lambda *_: None)
    per_region = total // regions
    load_start = os.getloadavg()[0]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    read, entries = {"read": 0.0, "index": 0.0, "read_cpu": 0.0, "index_cpu": 0.0}, {}
    stream = simulated_regions(regions, per_region, auditor.rules, read, entries)
    if serial:
        # the order before the pipeline: every region read, then the index written
        result = auditor.converge(dict(stream), {})
    else:
        result = auditor.converge(in_a_thread(stream), {})
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    t = result.timings
    t_gen, t_index = read["read"], read["index"]
    print(json.dumps({"phase": "first audit", "entries": result.entries,
                      "timings": {k: round(v, 2) for k, v in t.items()},
                      "simulated_read_s": round(t_gen, 2), "index_s": round(t_index, 2),
                      "wall_s": round(wall, 2),
                      "cpu_s": round(cpu, 2), "rss_mib": round(
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}),
          file=sys.stderr, flush=True)
    first_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    second = auditor.converge(entries, {})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"ports": per_region * regions, "entries": result.entries,
           "conflicts": result.conflicts, "simulated_read_s": round(t_gen, 2),
           "index_s": round(t_index, 2),
           "wait_s": round(t.get("wait", 0.0), 2),
           "write_s": round(t["write"], 2), "plan_s": round(t["plan"], 2),
           "conflicts_s": round(t["conflicts"], 2),
           # CPU seconds of each phase's own thread (the wall figures above stretch with
           # the machine's load; these do not)
           "simulated_read_cpu_s": round(read["read_cpu"], 2),
           "index_cpu_s": round(read["index_cpu"], 2),
           "write_cpu_s": round(t["write_cpu"], 2), "plan_cpu_s": round(t["plan_cpu"], 2),
           "conflicts_cpu_s": round(t["conflicts_cpu"], 2),
           "audit_wall_s": round(wall, 2), "audit_cpu_s": round(cpu, 2),
           "first_audit_rss_mib": round(first_rss),
           "steady_write_s": round(second.timings["write"], 2),
           "steady_write_cpu_s": round(second.timings["write_cpu"], 2),
           "steady_inserted": second.inserted, "peak_rss_mib": round(rss)}
    del entries
    app = api_app.build_app(CONF)
    import webob

    rnd = random.Random(7)
    headers = {"X-Project-Id": "0" * 32, "X-User-Id": "bench", "X-Roles": "admin"}
    latencies, cpu = [], []
    for _ in range(lookups):
        r = rnd.randrange(regions)
        k = rnd.randrange(max(1, per_region // PORTS_PER_SUBNET))
        last = rnd.randrange(3, 3 + min(PORTS_PER_SUBNET, per_region))
        ip = f"{20 + r}.{k // 256 % 256}.{k % 256}.{last}"
        req = webob.Request.blank(f"/v2/addresses?all_projects=true&ip={ip}", headers=headers)
        t0, c0 = time.perf_counter(), time.thread_time()
        resp = req.get_response(app)
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        assert resp.status_int == 200, resp.body
    # the direct figure: the same lookups straight through the index (SQL + rows)
    from multisite.objects import addresses as index

    rnd = random.Random(7)
    direct = []
    for _ in range(lookups):
        r = rnd.randrange(regions)
        k = rnd.randrange(max(1, per_region // PORTS_PER_SUBNET))
        last = rnd.randrange(3, 3 + min(PORTS_PER_SUBNET, per_region))
        ip = f"{20 + r}.{k // 256 % 256}.{k % 256}.{last}"
        t0 = time.perf_counter()
        index.search(CONF, ip=ip, limit=101)
        direct.append((time.perf_counter() - t0) * 1000)
    direct.sort()
    out["search_p50_ms"] = round(statistics.median(direct), 2)
    out["search_p99_ms"] = round(direct[int(len(direct) * 0.99) - 1], 2)
    latencies.sort()
    out["lookup_p50_ms"] = round(statistics.median(latencies), 2)
    out["lookup_p99_ms"] = round(latencies[int(len(latencies) * 0.99) - 1], 2)
    cpu.sort()
    out["lookup_cpu_p50_ms"] = round(statistics.median(cpu), 2)
    out["lookup_cpu_p99_ms"] = round(cpu[int(len(cpu) * 0.99) - 1], 2)
    out["load_avg_1m"] = f"{load_start:.1f}-{os.getloadavg()[0]:.1f}"
    out["serial"] = serial
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--regions", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--db", default="", help="database URL (default: a new SQLite file)")
    parser.add_argument("--serial", action="store_true",
                        help="read every region before writing (the order before the "
                             "pipeline), for comparison")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one_size(args.one, args.regions, args.lookups, args.db,
                                  serial=args.serial)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            db = args.db or f"sqlite:///{os.path.join(tmp, 'bench.sqlite')}"
            done = subprocess.run([sys.executable, "-m", "bench.address_audit",
                                   "--one", str(size), "--regions", str(args.regions),
                                   "--lookups", str(args.lookups), "--db", db,
                                   *(["--serial"] if args.serial else [])],
                                  capture_output=True, text=True, check=False)
            if done.returncode:
                sys.exit(done.stderr[-3000:])
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    keys = list(rows[0])
    print("\n" + " | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))


if __name__ == "__main__":
    main()
