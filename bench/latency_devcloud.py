"""Latency against the devcloud (issue 21, item 3): real Keystone, Nova, Cinder, Neutron.

    eval "$(.venv/bin/multisite-devcloud --base /work/shared/devcloud env)"
    .venv/bin/python -m bench.latency_devcloud [--rounds 20] [--vhost NAME]

multisite-engine and multisite-api run as real processes (RabbitMQ RPC in a private vhost,
SQLite, noauth API; the engine's service user is the OS_* user) against every region of
the devcloud's catalog. In the same run, the floor is measured directly from this process
with one cached token and keep-alive connections, as the engine calls the regions:

* `detail`: GET .../os-quota-sets/{p}/detail for the OS_* project, the first call after
  start-up and the p50/p90 of --rounds calls; floor = 1.5 x the slowest region's single
  quota call (p50) + 5 ms, and the direct parallel round of every region's three calls;
* `keypair job`: a keypair made in the first region, POST os-sync to the second
  (force), polled every 5 ms until SUCCESS; floor = the direct GET in the first region
  + POST in the second + 20 ms. Every keypair made is deleted.

Each row also prints the API's and the engine's CPU per operation and the load.
"""

import argparse
import concurrent.futures
import os
import statistics
import sys
import tempfile
import time
import uuid

import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from bench import latency
from tests.functional.api import servers

PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHUy06Ql8nQjNlV57/TwDo+rRVPWeQ2O+enyZkY96RAz"
              " bench")


class Direct:
    """The regions called straight, with one token and pooled keep-alive connections."""

    def __init__(self):
        env = os.environ
        self.auth = v3.Password(
            auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"],
            password=env["OS_PASSWORD"], project_name=env["OS_PROJECT_NAME"],
            user_domain_name=env.get("OS_USER_DOMAIN_NAME", "Default"),
            project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME", "Default"))
        sess = ks_session.Session(auth=self.auth)
        self.project = sess.get_project_id()
        self.user = sess.get_user_id()
        self.http = requests.Session()
        self.http.headers.update({"X-Auth-Token": sess.get_token(),
                                  "Content-Type": "application/json"})
        self.regions = sorted({endpoint["region_id"]
                               for service in self.auth.get_access(sess).service_catalog.catalog
                               for endpoint in service["endpoints"]
                               if service["type"] == "compute"})
        self.endpoints = {
            (region, kind): sess.get_endpoint(service_type=kind, region_name=region,
                                              interface="public")
            for region in self.regions for kind in ("compute", "volumev3", "network")}

    def call(self, method, url, body=None):
        started = time.perf_counter()
        resp = self.http.request(method, url, json=body, timeout=30)
        return time.perf_counter() - started, resp

    def quota_urls(self, region):
        p = self.project
        network = self.endpoints[region, "network"].rstrip("/")
        prefix = "" if network.endswith("/v2.0") else "/v2.0"
        return [f"{self.endpoints[region, 'compute']}/os-quota-sets/{p}/detail",
                f"{self.endpoints[region, 'volumev3']}/os-quota-sets/{p}?usage=True",
                f"{network}{prefix}/quotas/{p}/details"]

    def slowest_call(self, rounds):
        """p50 of single quota calls, per region; the slowest region's."""
        per_region = {region: statistics.median(
            self.call("GET", url)[0] for _ in range(max(rounds // 3, 3))
            for url in self.quota_urls(region)) for region in self.regions}
        return max(per_region.values()), per_region

    def parallel_round(self, rounds):
        urls = [url for region in self.regions for url in self.quota_urls(region)]
        times = []
        with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
            for _ in range(rounds):
                started = time.perf_counter()
                list(pool.map(lambda url: self.call("GET", url), urls))
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    def keypairs(self, region):
        return f"{self.endpoints[region, 'compute']}/os-keypairs"

    def make_keypair(self, region, name):
        _, resp = self.call("POST", self.keypairs(region),
                            {"keypair": {"name": name, "public_key": PUBLIC_KEY}})
        assert resp.status_code in (200, 201), resp.text

    def delete_keypair(self, region, name):
        self.call("DELETE", f"{self.keypairs(region)}/{name}")

    def keypair_copy(self, source, target, name):
        """The direct path of a keypair job: read in the source, create in the target."""
        read, resp = self.call("GET", f"{self.keypairs(source)}/{name}")
        assert resp.status_code == 200, resp.text
        made, resp = self.call("POST", self.keypairs(target), {"keypair": {
            "name": name, "public_key": resp.json()["keypair"]["public_key"]}})
        assert resp.status_code in (200, 201), resp.text
        self.delete_keypair(target, name)
        return read + made


class _Client(servers.Client):
    def __init__(self, port, *, project_id, user_id):
        super().__init__(port, project_id=project_id)
        self.headers["X-User-Id"] = user_id


def keypair_row(client, direct, rounds):
    source, target = direct.regions[0], direct.regions[1]
    times, floors = [], []
    for i in range(rounds):
        name = f"ms-bench-kp-{uuid.uuid4().hex[:8]}"
        direct.make_keypair(source, name)
        try:
            if i % 2:
                floors.append(direct.keypair_copy(source, target, name))
            started = time.perf_counter()
            status, _, body = client.request("POST", f"/v1.0/{direct.project}/os-sync", {
                "resource_set": {"resource_type": "keypair", "resources": [name],
                                 "source": source, "target": [target], "force": "True"}})
            assert status == 200, body
            job = body["job_status"]["id"]
            while True:
                status, _, body = client.request("GET", f"/v1.0/{direct.project}/os-sync/{job}")
                rows = body["job_set"]
                if all(r["sync_status"] != "IN_PROGRESS" for r in rows):
                    break
                if time.perf_counter() - started > 120:
                    raise SystemExit(f"keypair job {job} not done after 120 s: {rows}")
                time.sleep(0.005)
            times.append(time.perf_counter() - started)
            assert all(r["sync_status"] == "SUCCESS" for r in rows), rows
        finally:
            direct.delete_keypair(target, name)
            direct.delete_keypair(source, name)
    return times, floors


def run(args):
    direct = Direct()
    print(f"regions {direct.regions}; project {direct.project}")
    env = os.environ
    keystone = (env["OS_AUTH_URL"], env["OS_USERNAME"], env["OS_PASSWORD"],
                env["OS_PROJECT_NAME"])
    with tempfile.TemporaryDirectory(prefix="ms-latency-dc-") as directory, \
            latency._vhost(args.vhost) as vhost, \
            latency._services(args, directory, f"sqlite:///{directory}/bench.sqlite",
                              vhost, keystone=keystone) as (port, engine, api):
        cpu = latency._Cpu([("api", api), ("engine", engine)])
        client = _Client(port, project_id=direct.project, user_id=direct.user)
        path = f"/v1.0/{direct.project}/os-quota-sets/{direct.project}/detail"
        with latency._profile(args, [("api", api), ("engine", engine)], "devcloud-detail"), \
                cpu.row("detail"):
            started = time.perf_counter()
            status, _, body = client.request("GET", path)
            cold = time.perf_counter() - started
            assert status == 200, body
            detail = latency._gets(client, path, args.rounds)
        slowest, per_region = direct.slowest_call(args.rounds)
        parallel = direct.parallel_round(args.rounds)
        client.close()
        client = _Client(port, project_id=direct.project, user_id=direct.user)
        procs = [("api", api), ("engine", engine)]
        with latency._profile(args, procs, "devcloud-keypair"), cpu.row("keypair"):
            kp, kp_floor = keypair_row(client, direct, args.rounds)
        client.close()
    floor_detail = 1.5 * slowest + 0.005
    floor_kp = statistics.median(kp_floor) + 0.020
    print(f"\n## devcloud ({len(direct.regions)} regions), db=sqlite; direct quota call p50 "
          f"per region: " + ", ".join(f"{r} {latency._ms(t)} ms" for r, t in per_region.items())
          + f"; load {os.getloadavg()[0]:.1f}")
    print("| measure | Multisite ms | floor ms | ratio | CPU ms per op: API / engine | "
          "load |\n|---|---|---|---|---|---|")
    rows = [(f"detail p50 (p90 {latency._ms(latency._p(detail, 0.9))}; cold first call "
             f"{latency._ms(cold)}; direct parallel round {latency._ms(parallel)})",
             statistics.median(detail), floor_detail, cpu.per("detail", 1 + args.rounds)),
            ("keypair os-sync POST -> SUCCESS p50 (floor: direct read+create+20 ms)",
             statistics.median(kp), floor_kp, cpu.per("keypair", args.rounds))]
    for name, value, floor, (api_cpu, engine_cpu, load) in rows:
        print(f"| {name} | {latency._ms(value)} | {latency._ms(floor)} | {value / floor:.2f} "
              f"| {latency._ms(api_cpu)} / {latency._ms(engine_cpu)} | {load:.1f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--vhost", help="the RabbitMQ vhost to create and delete")
    parser.add_argument("--profile", metavar="DIR",
                        help="py-spy record the API and engine during each row (raw stacks)")
    parser.add_argument("--profile-cpu", action="store_true",
                        help="with --profile: on-CPU samples only (no idle frames)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--region-concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; uptime: {os.popen('uptime').read().strip()}")
    run(args)
    sys.stdout.flush()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
