"""Benchmark: one periodic rebalance of P projects x R regions by E engine processes.

Prints wall time, region calls made, the median call latency (measured sequentially
before the run), and the ratio to the lower bound

    bound = calls / (R x per-region concurrency x E) x median latency

(each engine bounds its calls to one region by [batch] region_concurrency, so E engines
may keep E times as many calls in flight per region).

    # simulated regions (bench/fake_regions.py, started here)
    python -m bench.quota_rebalance --target fake --projects 1000 --regions 20 \
        --delay 0.05 --engines 1
    # the devcloud (real Keystone, Nova, Cinder, Neutron); creates P projects, then
    # deletes them
    python -m bench.quota_rebalance --target devcloud --projects 200 --engines 2
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

from multisite import rpc
from multisite.conf import CONF
from multisite.db import api as db_api
from multisite.db import migration
from multisite.objects import quotas, services


def _configure(args, workdir, keystone_url, password, tenant):
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", f"sqlite:///{workdir}/bench.sqlite", group="database")
    CONF.set_override("transport_url", "fake://")
    CONF.set_override("report_interval", 30)
    CONF.set_override("backend_url", args.coordination or f"file://{workdir}/locks",
                      group="coordination")
    CONF.set_override("periodic_enable", False, group="scheduler")
    CONF.set_override("sync_all_projects", args.target == "fake", group="scheduler")
    CONF.set_override("batch_size", args.batch_size, group="batch")
    CONF.set_override("region_concurrency", args.region_concurrency, group="batch")
    for name, value in (("auth_uri", keystone_url), ("admin_username", "admin"),
                        ("admin_password", password), ("admin_tenant", tenant),
                        ("catalog_ttl", 3600), ("region_timeout", 30.0)):
        CONF.set_override(name, value, group="cache")
    if args.quota_policy:
        CONF.set_override("quota_policy", args.quota_policy)
    return CONF


def _engine(conf, engine_id, engines, ready, go, results, finish):
    """One engine process: join, wait for its peers, run one periodic pass."""
    from multisite.engine import quota_manager

    db_api.dispose_all()
    manager = quota_manager.QuotaManager(conf, engine_id=engine_id)
    stop = threading.Event()

    def report():
        # liveness every report_interval, as multisite-engine does: a pass longer than
        # two intervals must not make the peers look dead (they would take over)
        while True:
            services.report(conf, service_id=engine_id, host="bench",
                            binary="multisite-engine", topic="bench")
            if stop.wait(conf.report_interval):
                return

    threading.Thread(target=report, daemon=True).start()
    manager.start()
    while len(manager.coordinator.members()) < engines:
        time.sleep(0.1)
    manager.cloud.regions("warm-up")          # token + catalog, outside the timing
    manager.cloud.calls.clear()
    ready.release()
    go.wait()
    started, cpu = time.monotonic(), time.process_time()
    summary = manager.run_periodic()
    results.put({"engine": engine_id, "seconds": time.monotonic() - started,
                 "cpu": time.process_time() - cpu,
                 "projects": summary["projects"], "synced": summary["synced"],
                 "calls": sum(manager.cloud.calls.values())})
    # Stay a member until every engine is done: an engine leaving early would hand its
    # share of the ring to the others, which would then sync those projects again.
    finish.wait()
    manager.stop()
    stop.set()
    services.remove(conf, engine_id)


def _median_latency(conf, project, samples=40):
    """(median of sequential quota-detail calls to the first region, number of regions)."""
    from multisite import clients

    cloud = clients.Cloud(conf)
    regions = cloud.regions(project)
    adapter = cloud.region(regions[0])
    times = []
    for i in range(samples):
        service = adapter.services[i % len(adapter.services)]
        url = adapter._url(service, project, detail=True)
        t = time.monotonic()
        adapter._call("GET", url, service=service)
        times.append(time.monotonic() - t)
    return statistics.median(times), len(regions)


def _start_fake(args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_regions", "--regions", str(args.regions),
         "--projects", str(args.projects), "--delay", str(args.delay),
         "--port", str(args.port)],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        raise SystemExit(f"fake regions did not start: {line!r}")
    return proc


def _devcloud_projects(count):
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    sess = ks_session.Session(auth=v3.Password(
        auth_url="http://127.0.0.1:5000/v3", username="admin", password="adminpw",
        project_name="admin", user_domain_name="Default", project_domain_name="Default"))
    ids = []
    for _ in range(count):
        body = {"project": {"name": f"bench-{uuid.uuid4().hex[:10]}", "domain_id": "default"}}
        resp = sess.post("/projects", json=body,
                         endpoint_filter={"service_type": "identity", "interface": "public"})
        ids.append(resp.json()["project"]["id"])

    def cleanup():
        for project_id in ids:
            sess.delete(f"/projects/{project_id}", raise_exc=False,
                        endpoint_filter={"service_type": "identity", "interface": "public"})
    return ids, cleanup


def run(args):
    workdir = tempfile.mkdtemp(prefix="bench-quota-")
    fake = cleanup = None
    ids = []
    if args.target == "fake":
        fake = _start_fake(args)
        conf = _configure(args, workdir, f"http://127.0.0.1:{args.port}/v3", "x", "admin")
    else:
        conf = _configure(args, workdir, "http://127.0.0.1:5000/v3", "adminpw", "admin")
    try:
        migration.db_sync(conf)
        if args.target == "devcloud":
            t = time.monotonic()
            ids, cleanup = _devcloud_projects(args.projects)
            for project_id in ids:
                quotas.update(conf, project_id, {"volumes": 6, "network": 9, "port": 30})
            print(f"created {len(ids)} devcloud projects in {time.monotonic() - t:.1f}s")
        # Nova checks project ids with Keystone: calibrate on a real one.
        latency, regions = _median_latency(conf, ids[0] if cleanup else uuid.uuid4().hex)
        db_api.dispose_all()
        ctx = multiprocessing.get_context("fork")
        ready, go, finish, results = ctx.Semaphore(0), ctx.Event(), ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_engine, args=(conf, str(uuid.uuid4()), args.engines,
                                                   ready, go, results, finish))
                 for _ in range(args.engines)]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.acquire()
        started = time.monotonic()
        go.set()
        out = [results.get() for _ in procs]
        wall = time.monotonic() - started
        finish.set()
        for proc in procs:
            proc.join(timeout=30)
        calls = sum(o["calls"] for o in out)
        bound = calls / (regions * args.region_concurrency * args.engines) * latency
        print(f"target={args.target} projects={args.projects} regions={regions} "
              f"engines={args.engines} batch_size={args.batch_size} "
              f"region_concurrency={args.region_concurrency}"
              + (f" delay={args.delay}" if args.target == "fake" else ""))
        for o in out:
            print(f"  engine {o['engine'][:8]}: projects={o['projects']} synced={o['synced']}"
                  f" calls={o['calls']} seconds={o['seconds']:.1f} cpu={o['cpu']:.1f}s "
                  f"cpu_per_call={o['cpu'] / max(o['calls'], 1) * 1000:.2f}ms")
        if fake is not None:
            stats = _stats(args.port)
            print(f"  server saw calls={stats['calls']} by_kind={stats['by_kind']} "
                  f"peak_inflight_max={max(stats['peak_inflight'].values())}")
        print(f"wall={wall:.2f}s calls={calls} median_latency={latency * 1000:.1f}ms "
              f"lower_bound={bound:.2f}s ratio={wall / bound:.2f} "
              f"calls_per_s={calls / wall:.0f}")
        return wall
    finally:
        if fake is not None:
            fake.terminate()
            fake.wait()
        if cleanup is not None:
            cleanup()


def _stats(port):
    import json

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as resp:
        return json.loads(resp.read())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=["fake", "devcloud"], default="fake")
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--regions", type=int, default=20, help="fake target only")
    parser.add_argument("--delay", type=float, default=0.05, help="fake target only")
    parser.add_argument("--engines", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--region-concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=21000,
                        help="first of --regions + 1 ports; keep it below the ephemeral "
                             "range (a client connection may hold a port there)")
    parser.add_argument("--coordination", help="tooz URL (default file:// in a temp dir)")
    parser.add_argument("--quota-policy", choices=["kingbird", "strict"])
    run(parser.parse_args(argv))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
