"""multisite-gateway overhead on the devcloud: the same Nova calls through the gateway and
straight to the pod, in one run (issue 16's goals: GET /servers/{id} p50/p99 <= 1.10 x
direct + 2 ms; GET /servers/detail over the pods <= 1.2 x the slowest pod alone; server
create to ACTIVE <= 1.05 x direct, full profile only: --creates N).

Starts its own gateway (keystone auth, SQLite in a temporary directory) with RegionOne as
the top region and RegionTwo, RegionThree as the pods of az1, az2; boots --servers servers
per pod through the gateway (they stay in BUILD on the API-only devcloud), measures, and
deletes them.

    python -m bench.gateway --rounds 50 --servers 3
    python -m bench.gateway --base /work/shared/full --creates 5   # full profile: ACTIVE
    python -m bench.gateway --servers 8 --limit 3 --own-project   # + a page of 3, a project

--limit N also measures `GET /servers/detail?limit=N` (the gateway asks each pod for N);
--own-project boots and lists as the member of a project made for the run (deleted after),
so other users' servers of the admin project are not in the lists. --three-pods makes
RegionOne the pod of az3 (no top region is registered: the compute proxy needs none), for
the detail list over 3 pods on a 3-region devcloud. Each figure is printed with the
gateway's CPU (its master and workers, from /proc) per call and the load average.

Each table is measured in rounds that call every column once, in turn (the gateway, each
pod alone, the pods at once), so that a pod busy with other users' calls for a while on
the shared devcloud slows every column alike; and each merged list through the gateway
reads the gateway's Server-Timing header (each pod's read as the gateway saw it), so the
call minus its slowest pod is the gateway's own time in that very request.
"""

import argparse
import concurrent.futures
import contextlib
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import openstack

from multisite.conf import CONF
from multisite.db import migration
from multisite.devcloud import layout as L
from multisite.devcloud import multisite_conf
from multisite.objects import pods

PODS = {"RegionTwo": "az1", "RegionThree": "az2"}
CORES = os.cpu_count()


def gateway_cpu(proc):
    """CPU seconds (user + system) of the gateway's master and its workers so far."""
    pids, total = [proc.pid], 0.0
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
                 .read_text().split()]
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_cpu():
    """CPU seconds every process of the machine has used so far (/proc/stat: user, nice,
    system, irq, softirq, steal), counted in the kernel's ticks."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:9]
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7))
    return busy / os.sysconf("SC_CLK_TCK")


def interleaved(calls, rounds, cpu=None):
    """{name: [ms]} of `calls` ({name: fn}), each called once per round in turn: every
    column's samples come from the same minutes of the shared machine, so a pod busy with
    other clients' calls for a while slows all of them alike (measured one block after
    another, such a while once fell on the gateway's whole-list block only). `cpu` (a
    dict) gets each column's machine CPU ms per call (everything the machine ran while
    the call was under way: the pods, their database, the gateway, this client)."""
    out = {name: [] for name in calls}
    used = {name: 0.0 for name in calls}
    for _ in range(rounds):
        for name, fn in calls.items():
            before = machine_cpu()
            started = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - started) * 1000)
            used[name] += machine_cpu() - before
    if cpu is not None:
        cpu.update({name: 1000 * total / rounds for name, total in used.items()})
    return out


class Gatewayed:
    """A call through the gateway that keeps the gateway's CPU (master and workers) it
    cost and, for a merged list, its slowest pod's read time (the Server-Timing header)."""

    def __init__(self, proc, fn):
        self.proc, self.fn, self.cpu_ms, self.pod_ms = proc, fn, [], []

    def __call__(self, *args):
        before = gateway_cpu(self.proc)
        resp = self.fn(*args)
        self.cpu_ms.append(1000 * (gateway_cpu(self.proc) - before))
        took = re.findall(r"dur=([0-9.]+)", resp.headers.get("Server-Timing", ""))
        self.pod_ms.append(max([float(ms) for ms in took], default=0.0))
        return resp


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gateway(state, keystone_url, top=True):
    port = free_port()
    conf = state / "gateway.conf"
    conf.write_text(multisite_conf.render(state, keystone_url=keystone_url)
                    + f"[gateway]\nbind_port = {port}\nworkers = 2\n")
    CONF(["--config-file", str(conf)], project="multisite")
    migration.db_sync(CONF)
    if top:
        pods.create(CONF, name="RegionOne")
    for name, zone in PODS.items():
        pods.create(CONF, name=name, az_name=zone)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "multisite-gateway"),
                             "--config-file", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/", timeout=2):
                return proc, url + "/compute/v2.1"
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("multisite-gateway did not start")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def to_active(post, body, deleted, *, watch, poll=0.1):
    """(ms from the create to ACTIVE as `watch` sees it, ms of the create's POST), the
    server created by `post(body)` and polled every `poll` s: each sample is late by up
    to one poll and its GET, alike both ways; the median of many samples evens that out.
    Watched through the gateway, each poll also pays the gateway's show; watched in the
    pod, both ways wait for the same answer."""
    started = time.perf_counter()
    resp = post(body)
    assert resp.status_code == 202, resp.text
    posted = (time.perf_counter() - started) * 1000
    server_id = resp.json()["server"]["id"]
    deleted.append(server_id)
    while True:
        status = watch.compute.get(f"/servers/{server_id}").json()["server"]["status"]
        if status == "ACTIVE":
            return (time.perf_counter() - started) * 1000, posted
        assert status != "ERROR", f"server {server_id} ERROR"
        time.sleep(poll)


def trimmed_mean(values, cut=0.1):
    """The mean of `values` without their lowest and highest `cut` (a tenth each)."""
    values = sorted(values)
    k = int(len(values) * cut)
    return statistics.mean(values[k:len(values) - k] or values)


def bootstrap_ratio(direct, via, stat=statistics.median, rounds=2000):
    """The 95% interval of stat(via) / stat(direct), resampling each side: how far the
    samples' spread alone moves the ratio (a fixed seed: the same samples, the same
    interval)."""
    rng = random.Random(16)
    ratios = sorted(stat(rng.choices(via, k=len(via))) / stat(rng.choices(direct, k=len(direct)))
                    for _ in range(rounds))
    return ratios[int(0.025 * rounds)], ratios[int(0.975 * rounds) - 1]


def gone(pod, server_id, wait=120):
    """Delete the server in its pod and wait (up to `wait` s) until the pod answers 404."""
    pod.compute.delete(f"/servers/{server_id}")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if pod.compute.get(f"/servers/{server_id}").status_code == 404:
            return
        time.sleep(0.5)


def creates(via, pod, spec, count, proc, poll=0.1, watch="endpoint"):
    """Server create to ACTIVE, direct and through the gateway alternated, in az1's pod;
    each server deleted (and gone) before the next create: every sample starts from the
    same pod, and a run project's quota of 10 instances is not reached. Returns the
    (to ACTIVE, POST) ms of each way and the gateway's CPU ms per POST."""
    def poster(conn):
        return lambda body: conn.compute.post("/servers", json=body, microversion="2.37")

    via_post = Gatewayed(proc, poster(via))
    direct_ms, via_ms, made = [], [], []
    try:
        for i in range(count):
            for conn, post, out, zone in (
                    (pod, poster(pod), direct_ms, {}),
                    (via, via_post, via_ms, {"availability_zone": "az1"})):
                # az1 is the gateway's zone: the pod itself knows only its own
                body = {"server": dict(spec, name=f"bench-active-{i}", **zone)}
                out.append(to_active(post, body, made, poll=poll,
                                     watch=pod if watch == "pod" else conn))
                gone(pod, made[-1])
    finally:
        for server_id in made:
            with contextlib.suppress(Exception):
                pod.compute.delete(f"/servers/{server_id}")
    return direct_ms, via_ms, via_post.cpu_ms


def member_project(admin):
    """A project and a member user made for the run: {"project", "user", "auth"}."""
    name = f"bench-gw-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    project = admin.identity.create_project(name=name, domain_id="default")
    user = admin.identity.create_user(name=name, password=password, domain_id="default",
                                      default_project_id=project.id)
    admin.identity.assign_project_role_to_user(
        project, user, admin.identity.find_role("member", ignore_missing=False))
    return {"project": project.id, "user": user.id,
            "auth": {"username": name, "password": password, "project_name": name}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--show-rounds", type=int, default=None,
                        help="rounds of the GET /servers/{id} table (default: --rounds); its "
                             "p99 wants many: of 100 calls it is the second slowest")
    parser.add_argument("--servers", type=int, default=3, help="servers per pod")
    parser.add_argument("--creates", type=int, default=0,
                        help="servers created to ACTIVE each way (full profile devcloud)")
    parser.add_argument("--poll", type=float, default=0.1,
                        help="seconds between the GETs that wait for ACTIVE (--creates)")
    parser.add_argument("--watch", choices=("endpoint", "pod"), default="endpoint",
                        help="--creates: wait for ACTIVE through the endpoint that created "
                             "the server (the user's view: each poll through the gateway "
                             "pays its show), or in the pod for both (the create's own cost)")
    parser.add_argument("--limit", type=int, default=0,
                        help="also measure GET /servers/detail?limit=N, gateway and pods")
    parser.add_argument("--own-project", action="store_true",
                        help="servers booted and listed by a project made for the run")
    parser.add_argument("--base", type=Path, default=None,
                        help="the devcloud's base directory (default: $MULTISITE_DEVCLOUD_BASE)")
    parser.add_argument("--three-pods", action="store_true",
                        help="RegionOne is the pod of az3 (no top region registered)")
    args = parser.parse_args(argv)
    if args.three_pods:
        PODS["RegionOne"] = "az3"
    cpu0 = time.process_time()
    layout = L.Layout(args.base or L.default_base())
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(layout.clouds_yaml)
    state = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    proc, compute = start_gateway(state, layout.keystone_url, top=not args.three_pods)
    top = openstack.connect(cloud="devcloud-admin", region_name="RegionOne")
    project = member_project(top) if args.own_project else None
    auth = {} if project is None else {"auth": dict(top.config.config["auth"],
                                                    **project["auth"])}
    direct = {name: openstack.connect(cloud="devcloud-admin", region_name=name, **auth)
              for name in PODS}
    via = openstack.connect(cloud="devcloud-admin", region_name="RegionOne",
                            compute_endpoint_override=compute, **auth)
    admins = [openstack.connect(cloud="devcloud-admin", region_name=name) for name in PODS]
    # the same image id in every region (the full profile's pods read their own Glance)
    image_id = str(uuid.uuid4())
    for conn in [top, *admins][int(args.three_pods):]:
        image = conn.image.create_image(name=f"bench-{image_id[:8]}", id=image_id,
                                        data=b"\0" * 1024, disk_format="raw",
                                        container_format="bare", visibility="public",
                                        allow_duplicates=True)
    flavor_id = str(uuid.uuid4())
    made = []
    active = None
    try:
        for conn in admins:
            conn.compute.create_flavor(name=f"bench-{flavor_id[:8]}", ram=64, vcpus=1,
                                       disk=1, id=flavor_id)
        for name, zone in PODS.items():
            for i in range(args.servers):
                body = {"server": {"name": f"bench-{i}", "imageRef": image.id,
                                   "flavorRef": flavor_id, "networks": "none",
                                   "availability_zone": zone}}
                resp = via.compute.post("/servers", json=body, microversion="2.37")
                assert resp.status_code == 202, resp.text
                made.append((name, resp.json()["server"]["id"]))
        name, server_id = made[0]
        for conn in [via, *direct.values()]:                       # warm: tokens, pools
            conn.compute.get("/servers/detail")
        show = {"via": Gatewayed(proc, lambda: via.compute.get(f"/servers/{server_id}")),
                "direct": lambda: direct[name].compute.get(f"/servers/{server_id}")}
        shows = interleaved(show, args.show_rounds or args.rounds)
        # the pods asked at once, as the gateway does (on one small machine they share
        # its CPUs: this is the floor the gateway's parallel reads can reach)
        paths = {"detail": "/servers/detail"}
        if args.limit:
            paths["page"] = page = f"/servers/detail?limit={args.limit}"
            assert len(via.compute.get(page).json()["servers"]) == min(
                args.limit, len(made)), "the gateway's page"
        lists = {}
        with concurrent.futures.ThreadPoolExecutor(len(direct)) as pool:
            for kind, path in paths.items():
                calls = {"via": Gatewayed(proc, lambda p=path: via.compute.get(p)),
                         **{n: lambda c=c, p=path: c.compute.get(p)
                            for n, c in direct.items()},
                         "at once": lambda p=path: list(pool.map(
                             lambda conn: conn.compute.get(p), direct.values()))}
                used = {}
                lists[kind] = (interleaved(calls, args.rounds, used), calls["via"],
                               os.getloadavg()[0], used)
        if args.creates:
            spec = {"imageRef": image.id, "flavorRef": flavor_id, "networks": "none"}
            active = creates(via, direct["RegionTwo"], spec, args.creates, proc, args.poll,
                             args.watch)
    finally:
        for name, server_id in made:
            with contextlib.suppress(Exception):
                direct[name].compute.delete(f"/servers/{server_id}")
        for conn in admins:
            with contextlib.suppress(Exception):
                conn.compute.delete_flavor(flavor_id)
        for conn in [top, *admins][int(args.three_pods):]:
            with contextlib.suppress(Exception):
                conn.image.delete_image(image_id)
        proc.terminate()
        proc.wait(timeout=30)
        if project is not None:
            with contextlib.suppress(Exception):
                for name, server_id in made:
                    top.compute.wait_for_delete(direct[name].compute.get_server(server_id),
                                                wait=120)
            top.identity.delete_user(project["user"], ignore_missing=True)
            top.identity.delete_project(project["project"], ignore_missing=True)
    p50d, p99d = pct(shows["direct"], 50), pct(shows["direct"], 99)
    p50v, p99v = pct(shows["via"], 50), pct(shows["via"], 99)
    print(f"rounds={args.rounds} pods={len(PODS)} servers_per_pod={args.servers} "
          "(each round calls every column of a table once, in turn)")
    print(f"GET /servers/{{id}} ({args.show_rounds or args.rounds} rounds) direct p50 "
          f"{p50d:6.1f} ms p99 {p99d:6.1f} ms | gateway p50 {p50v:6.1f} ms p99 "
          f"{p99v:6.1f} ms | goal p50 <= {1.1 * p50d + 2:6.1f} ms, "
          f"p99 <= {1.1 * p99d + 2:6.1f} ms | gateway CPU per call "
          f"{statistics.mean(show['via'].cpu_ms):5.1f} ms")
    for kind, (got, via_call, load, used) in lists.items():
        path = paths[kind]
        med = {n: statistics.median(v) for n, v in got.items()}
        for n in direct:
            print(f"GET {path} direct {n}: median {med[n]:6.1f} ms p99 {pct(got[n], 99):6.1f} ms")
        slowest = max(med[n] for n in direct)
        print(f"GET {path} direct, the {len(PODS)} pods at once: median {med['at once']:6.1f} ms "
              f"p99 {pct(got['at once'], 99):6.1f} ms")
        print(f"GET {path} gateway over {len(PODS)} pods: median {med['via']:6.1f} ms p99 "
              f"{pct(got['via'], 99):6.1f} ms | ratio to the slowest pod alone "
              f"{med['via'] / slowest:.2f} (goal <= 1.2), to the pods at once "
              f"{med['via'] / med['at once']:.2f}")
        own = [v - p for v, p in zip(got["via"], via_call.pod_ms, strict=True)]
        print(f"   the gateway's slowest pod read (Server-Timing) median "
              f"{statistics.median(via_call.pod_ms):6.1f} ms; the call minus it median "
              f"{statistics.median(own):5.1f} ms p99 {pct(own, 99):5.1f} ms; gateway CPU per "
              f"call {statistics.mean(via_call.cpu_ms):5.1f} ms (load average {load:.1f})")
        alone = max(direct, key=lambda n: med[n])
        floor = used["at once"] / CORES
        print(f"   the machine's CPU per call (every process, /proc/stat): the slowest pod "
              f"alone {used[alone]:6.1f} ms, the pods at once {used['at once']:6.1f} ms, the "
              f"gateway {used['via']:6.1f} ms | on {CORES} cores the pods' own work at once "
              f"needs >= {floor:5.1f} ms of wall = {floor / slowest:.2f} x the slowest pod "
              f"alone (no fan-out answers faster on this machine)")
    print(f"this client's CPU {time.process_time() - cpu0:.1f} s; load average at the end "
          f"{os.getloadavg()}")
    if active:
        direct, via_, post_cpu = active
        direct_ms, via_ms = [t for t, _ in direct], [t for t, _ in via_]
        print(f"server create to ACTIVE ({args.creates} each, alternated, watched "
              f"{'in the pod' if args.watch == 'pod' else 'through each endpoint'} every "
              f"{args.poll} s), gateway / direct (goal <= 1.05), with the 95% bootstrap "
              "interval of each ratio (the samples gather around two or more values: the "
              "median jumps between them, the means move less):")
        for name, stat in (("median", statistics.median), ("mean", statistics.mean),
                           ("mean without the lowest and highest tenth", trimmed_mean)):
            low, high = bootstrap_ratio(direct_ms, via_ms, stat)
            print(f"  {name}: direct {stat(direct_ms):7.1f} ms | gateway {stat(via_ms):7.1f} "
                  f"ms | ratio {stat(via_ms) / stat(direct_ms):.3f} ({low:.3f}-{high:.3f})")
        print(f"  the create's POST: direct median {statistics.median(p for _, p in direct):6.1f}"
              f" ms | gateway median {statistics.median(p for _, p in via_):6.1f} ms | gateway "
              f"CPU per POST {statistics.mean(post_cpu):5.1f} ms")
        print(f"  direct {[round(v) for v in direct_ms]} gateway {[round(v) for v in via_ms]}")


if __name__ == "__main__":
    main()
