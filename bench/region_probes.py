"""Health probe rounds over simulated regions: wall time and CPU per round.

Starts bench/fake_regions.py (N regions; every probe call answers after --delay s, the
last region's after --slow-delay s) and runs the region_health kind's resync pass on the
engine mechanism, as an engine does every [health] interval. A region's probe is two
sequential calls per service (version document, status list), its services at once, so
the slowest region's probe takes 2 x slow-delay: the goal is a round <= 1.5 x that.

    .venv/bin/python -m bench.region_probes --regions 100 --rounds 5
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from multisite import rpc
from multisite.conf import CONF
from multisite.db import migration
from multisite.engine import manager, registry
from multisite.objects import regions
from multisite.reconcilers import region_health


def _configure(args, workdir):
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", f"sqlite:///{workdir}/bench.sqlite", group="database")
    CONF.set_override("transport_url", "fake://")
    CONF.set_override("backend_url", f"file://{workdir}/locks", group="coordination")
    CONF.set_override("periodic_enable", False, group="scheduler")
    for name, value in (("auth_uri", f"http://127.0.0.1:{args.port}/v3"),
                        ("admin_username", "admin"), ("admin_password", "x"),
                        ("admin_tenant", "admin"), ("catalog_ttl", 3600)):
        CONF.set_override(name, value, group="cache")
    CONF.set_override("workers", args.workers, group="health")
    CONF.set_override("call_concurrency", args.call_concurrency, group="health")
    CONF.set_override("timeout", 10.0, group="health")
    return CONF


def run(args):
    fake = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_regions", "--regions", str(args.regions),
         "--projects", "1", "--delay", str(args.delay), "--slow-delay", str(args.slow_delay),
         "--port", str(args.port)], stdout=subprocess.PIPE, text=True)
    try:
        if not fake.stdout.readline().startswith("ready"):
            raise SystemExit("fake regions did not start")
        with tempfile.TemporaryDirectory() as workdir:
            conf = _configure(args, workdir)
            migration.db_sync(conf)
            engine = manager.Manager(conf, engine_id=str(uuid.uuid4()))
            engine.add(next(k for k in registry.KINDS if k.name == region_health.KIND))
            engine.start()
            try:
                rows = []
                for number in range(args.rounds + 1):
                    cpu, wall = time.process_time(), time.monotonic()
                    summary = engine.resync(region_health.KIND)
                    rows.append((time.monotonic() - wall, time.process_time() - cpu,
                                 summary["keys"]))
                    if number == 0:
                        print(f"warm-up round (token, catalog, connections): "
                              f"{rows[0][0]:.3f} s")
                    time.sleep(args.pause)
            finally:
                engine.stop()
            up = sum(1 for r in regions.list_regions(conf)[0]
                     if regions.region_status(r["services"]) == "up")
    finally:
        fake.terminate()
        fake.wait()
    measured = rows[1:]
    slowest = 2 * args.slow_delay
    walls = [w for w, _c, _k in measured]
    cpus = [c for _w, c, _k in measured]
    print(f"regions={args.regions} services/region=5 probe calls/round="
          f"{args.regions * 9 + 0} delay={args.delay}s slowest region probe={slowest:.3f}s "
          f"workers={args.workers} call_concurrency={args.call_concurrency}")
    print("| round | wall s | CPU s | regions probed |")
    print("|---|---|---|---|")
    for number, (wall, cpu, keys) in enumerate(measured, 1):
        print(f"| {number} | {wall:.3f} | {cpu:.3f} | {keys} |")
    print(f"median wall {statistics.median(walls):.3f} s = "
          f"{statistics.median(walls) / slowest:.2f} x the slowest region's probe; "
          f"median CPU {statistics.median(cpus):.3f} s per round "
          f"({1000 * statistics.median(cpus) / args.regions:.2f} ms per region); "
          f"regions up after the rounds: {up}/{args.regions}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per probe call")
    parser.add_argument("--slow-delay", type=float, default=0.2,
                        help="seconds per probe call of the slowest region")
    parser.add_argument("--workers", type=int, default=100, help="[health] workers")
    parser.add_argument("--call-concurrency", type=int, default=200,
                        help="[health] call_concurrency")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between rounds")
    parser.add_argument("--port", type=int, default=22000)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
