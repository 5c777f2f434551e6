"""API throughput: multisite-api as a real process, load from a separate client process.

    .venv/bin/python -m bench.api_throughput [--duration 10] [--concurrency 8]
                                             [--workers 1 2] [--backends sqlite mysql]
                                             [--tree DIR --tree DIR2 [--rounds N]]

For each database (SQLite file; a throwaway MariaDB database on 127.0.0.1:3306)
and each api_workers count, starts multisite-api on a free loopback port, seeds
one project's limits, then runs the load driver (this module with --drive, in
its own process: threads with keep-alive connections) against GET show and GET
defaults for --duration seconds each. Prints req/s, p50 and p99 as a table, and the
CPU the API's processes (master and workers) spent per request: on a machine loaded by
other work req/s mostly measures the scheduler, while CPU ms per request is what the code
costs (1000 / that is the req/s one worker would reach on a core of its own).

With --tree (twice or more), the API runs from each source tree in turn (PYTHONPATH),
--rounds times, alternating: a before/after comparison in one run.
Everything is bounded and stops by itself; nothing listens beyond 127.0.0.1.
"""

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from tests.functional.api import servers
from tests.functional.db import throwaway

ENDPOINTS = {
    "show": "/v1.0/{p}/os-quota-sets/{p}",
    "defaults": "/v1.0/{p}/os-quota-sets/defaults",
}


def drive(port, path, project, duration, concurrency):
    """The load driver: `concurrency` threads, one keep-alive connection each."""
    headers = {"X-Project-Id": project, "X-Roles": "admin", "X-User-Id": "bench"}
    deadline = time.monotonic() + duration
    latencies, errors = [], [0]
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"requests": len(latencies), "errors": errors[0],
            "rps": len(latencies) / elapsed, "p50_ms": cuts[49] * 1000,
            "p99_ms": cuts[98] * 1000}


def processes_cpu(root):
    """CPU seconds (user + system) of process `root` and all its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, seconds in cpu.items():
        walk = pid
        while walk and walk != root:
            walk = parent.get(walk)
        if walk == root:
            total += seconds
    return total


def run_driver(port, path, project, duration, concurrency):
    """Run drive() in a separate process and return its figures."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.api_throughput", "--drive", str(port), path, project,
         str(duration), str(concurrency)],
        capture_output=True, text=True, timeout=duration + 120, check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(done.stdout)


@contextlib.contextmanager
def database(backend, directory):
    if backend == "sqlite":
        yield f"sqlite:///{os.path.join(directory, 'bench.sqlite')}"
        return
    ok, why = throwaway.reachable(backend)
    if not ok:
        raise SystemExit(f"{backend} unreachable: {why}")
    with throwaway.database(backend) as url:
        yield url


def measure(backend, workers, args, tree=None, server="gunicorn"):
    rows = []
    with tempfile.TemporaryDirectory(prefix="ms-bench-") as directory, \
            database(backend, directory) as url:
        config, port = servers.write_config(directory, connection=url, workers=workers)
        servers.manage(config, "db_sync")
        saved = os.environ.get("PYTHONPATH")
        if tree:
            os.environ["PYTHONPATH"] = tree
        try:
            if server == "uwsgi":
                api = servers.start_uwsgi(config, directory, port, processes=workers)
            else:
                api = servers.start("multisite-api", config, directory)
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        try:
            servers.wait_ready(api, port, timeout=120)   # a loaded machine starts slowly
            time.sleep(1.0)  # let every worker finish booting
            project = str(uuid.uuid4())
            client = servers.Client(port, project_id=project)
            status, _, body = client.request(
                "PUT", ENDPOINTS["show"].format(p=project), {"quota_set": {"cores": 7}})
            assert status == 200, body
            client.close()
            for name, template in ENDPOINTS.items():
                cpu_before = processes_cpu(api.pid)
                load = os.getloadavg()[0]
                figures = run_driver(port, template.format(p=project), project,
                                     args.duration, args.concurrency)
                cpu = processes_cpu(api.pid) - cpu_before
                figures["cpu_ms"] = 1000 * cpu / max(figures["requests"], 1)
                rows.append({"db": backend, "workers": workers, "endpoint": name, "server": server,
                             "tree": _tree_name(tree), "load": load, **figures})
        finally:
            servers.stop(api)
    return rows


def _tree_name(tree):
    if not tree:
        return "-"
    done = subprocess.run(["git", "-C", tree, "log", "-1", "--format=%h"],
                          capture_output=True, text=True, check=False)
    return f"{os.path.basename(tree.rstrip('/'))}@{done.stdout.strip() or '?'}"


def table(rows):
    lines = ["| tree | server | db | api_workers | endpoint | req/s | p50 ms | p99 ms "
             "| API CPU ms/req | req/s per core (1000/CPU) | requests | errors | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['tree']} | {r['server']} | {r['db']} | {r['workers']} | {r['endpoint']} | "
              f"{r['rps']:.0f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['cpu_ms']:.2f} | "
              f"{1000 / r['cpu_ms'] if r['cpu_ms'] else 0:.0f} | {r['requests']} | "
              f"{r['errors']} | {r['load']:.1f} |"
              for r in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "mysql"],
                        choices=["sqlite", "mysql", "postgresql"])
    parser.add_argument("--tree", action="append", default=[],
                        help="a source tree to run the API from (PYTHONPATH); repeat to compare")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --tree: how many times each tree runs, alternating")
    parser.add_argument("--servers", nargs="+", default=["gunicorn"],
                        choices=["gunicorn", "uwsgi"],
                        help="gunicorn: multisite-api; uwsgi: multisite.wsgi.api under uWSGI "
                             "(pyuwsgi installed), --processes N --threads 8; alternated")
    parser.add_argument("--drive", nargs=5, metavar=("PORT", "PATH", "PROJECT", "SECONDS", "N"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        port, path, project, seconds, count = args.drive
        print(json.dumps(drive(int(port), path, project, float(seconds), int(count))))
        return
    rows = []
    trees = args.tree or [None]
    for _round in range(args.rounds if args.tree or len(args.servers) > 1 else 1):
        for tree in trees:
            for backend in args.backends:
                for workers in args.workers:
                    for server in args.servers:
                        rows += measure(backend, workers, args, tree, server)
                    for line in table(rows[-len(ENDPOINTS):]).splitlines()[2:]:
                        print(line, file=sys.stderr, flush=True)
    print(f"{os.cpu_count()} CPUs; {args.concurrency} client threads in a separate process; "
          f"{args.duration:g} s per endpoint\n")
    print(table(rows))


if __name__ == "__main__":
    main()
