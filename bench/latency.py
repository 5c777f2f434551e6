"""Latency to the floor (issue 21): each row of the table, Multisite and the floor, one run.

multisite-api and multisite-engine run as real processes (RabbitMQ RPC in a private
vhost, SQLite or MariaDB) against bench/fake_regions.py (2 regions, --delay seconds per
region call). For each --delay it prints:

* `detail`: GET .../os-quota-sets/{p}/detail, the first call after start-up (cold) and the
  p50/p90 of --rounds warm calls; floor = 1.5 x the slowest single region call (p50,
  measured directly in the same run) + 5 ms, and the direct parallel round of every
  region's three calls;
* `keypair job`: POST os-sync (one keypair, one target) until GET os-sync/{job} says
  SUCCESS (polled every 5 ms); floor = direct GET source + POST target + 20 ms;
* `on-demand sync`: PUT .../sync for --projects projects at once (8 client threads),
  until the regions have answered every call; floor = calls / (regions x
  [batch] region_concurrency) x the direct call p50 (the periodic pass's bound).

GET throughput per worker is bench/api_throughput.py.

    .venv/bin/python -m bench.latency --delay 0 0.05 [--rounds 30] [--projects 50]
"""

import argparse
import concurrent.futures
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from bench import api_throughput
from tests.functional.api import servers
from tests.functional.db import throwaway

REGIONS = ["Region001", "Region002"]
RABBIT = "rabbit://guest:guest@127.0.0.1:5672/{vhost}"
USER = "client"      # the noauth user of servers.Client


def _ms(seconds):
    return f"{seconds * 1000:.1f}"


def _p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


@contextlib.contextmanager
def _fake_regions(args, delay):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_regions", "--regions", str(len(REGIONS)),
         "--projects", str(args.projects + 10), "--delay", str(delay), "--port",
         str(args.port)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("ready"):
            raise SystemExit(f"fake regions did not start: {line!r}")
        yield
    finally:
        proc.terminate()
        proc.wait()


@contextlib.contextmanager
def _vhost(name=None):
    """A private RabbitMQ vhost (--vhost NAME, else a random name), deleted at the end."""
    vhost = name or f"ms-bench-{uuid.uuid4().hex[:10]}"
    ctl = ["rabbitmqctl"]
    subprocess.run([*ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60)
    subprocess.run([*ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True, timeout=60)
    try:
        yield vhost
    finally:
        subprocess.run([*ctl, "delete_vhost", vhost], capture_output=True, timeout=60)


@contextlib.contextmanager
def _database(backend, directory):
    if backend == "sqlite":
        yield f"sqlite:///{os.path.join(directory, 'bench.sqlite')}"
        return
    with throwaway.database(backend) as url:
        yield url


@contextlib.contextmanager
def _services(args, directory, url, vhost, *, keystone=None):
    """multisite-engine and multisite-api; `keystone`: (auth URL, user, password, project)
    of the [cache] service user (default the fake regions' Keystone)."""
    auth_uri, user, password, project = keystone or (
        f"http://127.0.0.1:{args.port}/v3", "admin", "x", "admin")
    config, port = servers.write_config(directory, connection=url,
                                        transport_url=RABBIT.format(vhost=vhost))
    with open(config, "a") as f:
        f.write(f"""[cache]
auth_uri = {auth_uri}
admin_username = {user}
admin_password = {password}
admin_tenant = {project}
region_timeout = 30
[batch]
batch_size = {args.batch_size}
region_concurrency = {args.region_concurrency}
""")
    servers.manage(config, "db_sync")
    engine = servers.start("multisite-engine", config, directory)
    api = None
    try:
        servers.wait_engine(engine, url, timeout=60)
        api = servers.start("multisite-api", config, directory)
        servers.wait_ready(api, port, timeout=60)
        yield port, engine, api
    finally:
        if api is not None:
            servers.stop(api)
        servers.stop(engine)


class Direct:
    """Calls straight to the fake regions (the floor), keep-alive like the engine's."""

    def __init__(self, port):
        self.port = port

    def call(self, region_index, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port + region_index, timeout=30)
        try:
            started = time.perf_counter()
            conn.request(method, path, body=None if body is None else json.dumps(body),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            return time.perf_counter() - started, resp.status
        finally:
            conn.close()

    def quota_paths(self, project):
        return [f"/compute/v2.1/os-quota-sets/{project}/detail",
                f"/volume/v3/admin/os-quota-sets/{project}",
                f"/network/v2.0/quotas/{project}/details"]

    def slowest_call(self, project, rounds):
        """p50 of single calls, per region; the slowest region's."""
        per_region = []
        for i in range(1, len(REGIONS) + 1):
            times = [self.call(i, "GET", path)[0]
                     for _ in range(max(rounds // 3, 3)) for path in self.quota_paths(project)]
            per_region.append(statistics.median(times))
        return max(per_region)

    def parallel_round(self, project, rounds):
        """p50 of one parallel round of every region's three calls."""
        calls = [(i, path) for i in range(1, len(REGIONS) + 1)
                 for path in self.quota_paths(project)]
        times = []
        with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
            for _ in range(rounds):
                started = time.perf_counter()
                list(pool.map(lambda c: self.call(c[0], "GET", c[1]), calls))
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    def keypair_copy(self, name):
        """Read the keypair in region 1, create it in region 2, delete it again."""
        q = f"?user_id={USER}"
        read, _ = self.call(1, "GET", f"/compute/v2.1/os-keypairs/{name}{q}")
        made, status = self.call(2, "POST", "/compute/v2.1/os-keypairs", {"keypair": {
            "name": name, "public_key": "ssh-rsa AAAA bench", "type": "ssh",
            "user_id": USER}})
        assert status == 200, status
        self.call(2, "DELETE", f"/compute/v2.1/os-keypairs/{name}{q}")
        return read + made

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=30) as r:
            return json.loads(r.read())

    def reset(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/stats/reset",
                                     method="POST", data=b"")
        urllib.request.urlopen(req, timeout=30).read()


def rpc_round_trip(vhost, rounds):
    """p50 of an RPC call to the engine that does no I/O there (known_regions: the cached
    catalog), and of a cast, from this process over the same broker: the RPC hop alone."""
    from multisite import context, rpc
    from multisite.conf import CONF as conf  # oslo.messaging's tracing opts live there
    from multisite.rpc import client as rpc_client

    rpc.register_opts(conf)
    conf([], project="multisite", default_config_files=[])
    conf.set_override("transport_url", RABBIT.format(vhost=vhost))
    engine = rpc_client.EngineClient(conf)
    ctx = context.RequestContext(user_id=USER, project_id="bench", roles=["admin"])
    calls, casts = [], []
    try:
        engine.known_regions(ctx)       # the reply queue, the connection: not timed
        for _ in range(rounds):
            started = time.perf_counter()
            engine.known_regions(ctx)
            calls.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.sync_job_created(ctx, str(uuid.uuid4()))
            casts.append(time.perf_counter() - started)
    finally:
        rpc.cleanup()                   # before the vhost goes
    return statistics.median(calls), statistics.median(casts)


def _gets(client, path, rounds):
    """Seconds of each of `rounds` GETs of path (each must answer 200)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        status, _, body = client.request("GET", path)
        times.append(time.perf_counter() - started)
        assert status == 200, body
    return times


def show_row(client, project, rounds):
    """p50 of GET os-quota-sets/{p} (API, policy, one DB read; no RPC)."""
    return statistics.median(_gets(client, f"/v1.0/{project}/os-quota-sets/{project}",
                                   rounds))


def detail_row(client, project, rounds):
    """(the first call's seconds, the next rounds' seconds)."""
    path = f"/v1.0/{project}/os-quota-sets/{project}/detail"
    cold = _gets(client, path, 1)[0]
    return cold, _gets(client, path, rounds)


def keypair_row(client, direct, project, rounds):
    times, floors = [], []
    for i in range(rounds):
        name = f"kp-{uuid.uuid4().hex[:8]}"
        direct.call(1, "POST", "/compute/v2.1/os-keypairs", {"keypair": {
            "name": name, "public_key": "ssh-rsa AAAA bench", "type": "ssh",
            "user_id": USER}})
        if i % 2:
            floors.append(direct.keypair_copy(name))
        started = time.perf_counter()
        status, _, body = client.request("POST", f"/v1.0/{project}/os-sync", {
            "resource_set": {"resource_type": "keypair", "resources": [name],
                             "source": REGIONS[0], "target": [REGIONS[1]],
                             "force": "True"}})
        assert status == 200, body
        job = body["job_status"]["id"]
        while True:
            status, _, body = client.request("GET", f"/v1.0/{project}/os-sync/{job}")
            rows = body["job_set"]
            if all(r["sync_status"] != "IN_PROGRESS" for r in rows):
                break
            if time.perf_counter() - started > 60:
                raise SystemExit(f"keypair job {job} not done after 60 s: {rows}")
            time.sleep(0.005)
        times.append(time.perf_counter() - started)
        assert all(r["sync_status"] == "SUCCESS" for r in rows), rows
    return times, floors


def on_demand_row(port, direct, projects, timeout=600):
    admin = servers.Client(port)
    for project in projects:
        status, _, body = admin.request(
            "PUT", f"/v1.0/{project}/os-quota-sets/{project}",
            {"quota_set": {"cores": 40, "volumes": 12, "network": 90}})
        assert status == 200, body
    admin.close()
    direct.reset()

    def ask(batch):
        client = servers.Client(port)
        for project in batch:
            status, _, body = client.request("PUT",
                                             f"/v1.0/{project}/os-quota-sets/{project}/sync")
            assert status == 200, body
        client.close()

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(ask, [projects[i::8] for i in range(8)]))
    asked = time.perf_counter() - started
    # every project reads 3 services in each region and writes 3 in each
    expected = len(projects) * len(REGIONS) * 6
    while True:
        stats = direct.stats()
        if stats["calls"] >= expected and not stats.get("inflight_now"):
            break
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"on-demand sync: {stats['calls']} of {expected} calls after "
                             f"{timeout} s")
        time.sleep(0.01)
    return time.perf_counter() - started, asked, stats


class _Cpu:
    """CPU seconds (user + system, from /proc) the API and the engine (each with its
    children) spent during each row, and the 1-minute load when the row started."""

    def __init__(self, procs):
        self.procs = dict(procs)
        self.spent = {}

    @contextlib.contextmanager
    def row(self, name):
        load = os.getloadavg()[0]
        before = {key: api_throughput.processes_cpu(proc.pid)
                  for key, proc in self.procs.items()}
        yield
        self.spent[name] = ({key: api_throughput.processes_cpu(proc.pid) - before[key]
                             for key, proc in self.procs.items()}, load)

    def per(self, name, operations):
        spent, load = self.spent[name]
        return spent["api"] / operations, spent["engine"] / operations, load


@contextlib.contextmanager
def _profile(args, procs, label):
    """py-spy record (raw collapsed stacks, idle frames too) of each process while the
    block runs: --profile DIR/<label>-<name>.txt."""
    if not args.profile:
        yield
        return
    os.makedirs(args.profile, exist_ok=True)
    spies = [subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--pid",
         str(proc.pid), "--subprocesses", *([] if args.profile_cpu else ["--idle"]),
         "--threads", "--rate", "250",
         "--nonblocking", "--format", "raw", "-o",
         os.path.join(args.profile, f"{label}-{name}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name, proc in procs]
    time.sleep(1.0)
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(subprocess.signal.SIGINT)
            spy.wait(timeout=60)


def run_delay(args, delay, backend):
    with tempfile.TemporaryDirectory(prefix="ms-latency-") as directory, \
            _fake_regions(args, delay), _vhost(args.vhost) as vhost, \
            _database(backend, directory) as url, \
            _services(args, directory, url, vhost) as (port, engine, api):
        procs = [("api", api), ("engine", engine)]
        label = f"{delay * 1000:g}ms"
        direct = Direct(args.port)
        from bench import fake_regions
        projects = fake_regions.project_ids(args.projects + 10)
        client = servers.Client(port, project_id=projects[-1])
        cpu = _Cpu(procs)
        with _profile(args, procs, f"{label}-detail"), cpu.row("detail"):
            cold, detail = detail_row(client, projects[-1], args.rounds)
        show = show_row(client, projects[-1], args.rounds)
        rpc_call, rpc_cast = rpc_round_trip(vhost, args.rounds)
        slowest = direct.slowest_call(projects[-1], args.rounds)
        parallel = direct.parallel_round(projects[-1], args.rounds)
        client.close()          # idle while the floor was measured: a fresh connection
        client = servers.Client(port, project_id=projects[-1])
        with _profile(args, procs, f"{label}-keypair"), cpu.row("keypair"):
            kp, kp_floor = keypair_row(client, direct, projects[-1], args.rounds)
        client.close()
        with _profile(args, procs, f"{label}-ondemand"), cpu.row("ondemand"):
            wall, asked, stats = on_demand_row(port, direct, projects[:args.projects])
        calls = stats["calls"]
        bound = calls / (len(REGIONS) * args.region_concurrency) * slowest
        floor_detail = 1.5 * slowest + 0.005
        floor_kp = statistics.median(kp_floor) + 0.020
        rows = [
            (f"detail p50 (p90 {_ms(_p(detail, 0.9))}; cold first call "
             f"{_ms(cold)}; direct parallel round {_ms(parallel)})",
             statistics.median(detail), floor_detail, cpu.per("detail", 1 + args.rounds)),
            ("keypair os-sync POST -> SUCCESS p50 (floor: direct read+create+20 ms)",
             statistics.median(kp), floor_kp, cpu.per("keypair", args.rounds)),
            (f"on-demand PUT sync x{args.projects} ({calls} calls, all asked after "
             f"{asked:.2f} s, peak in flight {stats['peak_inflight']})", wall, bound,
             cpu.per("ondemand", 1)),
        ]
        print(f"\n## delay {delay * 1000:g} ms per region call, db={backend}, "
              f"direct call p50 (slowest region) {_ms(slowest)} ms; "
              f"load {os.getloadavg()[0]:.1f}")
        print(f"hops (p50): API GET os-quota-sets/{{p}} (WSGI, policy, DB read) "
              f"{_ms(show)} ms; RPC call round trip (no engine I/O) {_ms(rpc_call)} ms; "
              f"RPC cast {_ms(rpc_cast)} ms")
        print("| measure | Multisite ms | floor ms | ratio | CPU ms per op: API / engine | "
              "load |\n|---|---|---|---|---|---|")
        for name, value, floor, (api_cpu, engine_cpu, load) in rows:
            print(f"| {name} | {_ms(value)} | {_ms(floor)} | {value / floor:.2f} | "
                  f"{_ms(api_cpu)} / {_ms(engine_cpu)} | {load:.1f} |")
        sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, nargs="+", default=[0.0, 0.05])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--region-concurrency", type=int, default=4)
    parser.add_argument("--backend", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy record the API and engine during each row (raw stacks)")
    parser.add_argument("--profile-cpu", action="store_true",
                        help="with --profile: on-CPU samples only (no idle frames)")
    parser.add_argument("--vhost", help="the RabbitMQ vhost to create (and delete at the "
                        "end); default a random name")
    parser.add_argument("--port", type=int, default=21700,
                        help="fake Keystone port; region i listens on port + i")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; uptime: {os.popen('uptime').read().strip()}")
    for delay in args.delay:
        run_delay(args, delay, args.backend)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
