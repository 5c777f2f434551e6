"""The quota engine against the devcloud (real Keystone, Nova, Cinder, Neutron regions).

(a) the limits written equal the formula (both policies); (b) strict: the region itself
refuses the creation beyond the global limit; (c) a stopped region: the others converge,
the failure is visible through the API, and it converges after restart; (d) kill -9 of one
of two engines during a periodic run; plus the API and two engines over RabbitMQ.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest
import webob

from multisite.api import app as api_app
from multisite.devcloud import layout as L
from multisite.engine import quota_manager
from multisite.objects import quota_settings, quotas, sync_status
from tests.conftest import require_service
from tests.integration.usage import region_down

pytestmark = pytest.mark.integration

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"


def _cache_overrides(conf):
    keystone = L.Layout(L.default_base()).keystone_url
    for name, value in (("auth_uri", keystone), ("admin_username", "admin"),
                        ("admin_password", "adminpw"), ("admin_tenant", "admin"),
                        ("region_timeout", 5.0)):
        conf.set_override(name, value, group="cache")


@pytest.fixture
def qconf(db, devcloud):
    _cache_overrides(db)
    db.set_override("region_backoff_base", 1, group="scheduler")
    yield db
    for name in ("auth_uri", "admin_username", "admin_password", "admin_tenant",
                 "region_timeout"):
        db.clear_override(name, group="cache")
    db.clear_override("region_backoff_base", group="scheduler")


@pytest.fixture
def manager(qconf):
    m = quota_manager.QuotaManager(qconf, engine_id=str(uuid.uuid4()))
    yield m
    m.stop()


# -- reading the regions independently of multisite.clients ------------------------------
def region_quota(devcloud, region, project_id):
    """{resource: (limit, used)} read with the admin session, straight from the APIs."""
    sess = devcloud.session()
    out = {}
    nova = devcloud.endpoint("compute", region)
    body = sess.get(f"{nova}/os-quota-sets/{project_id}/detail").json()["quota_set"]
    for k in ("instances", "cores", "ram", "key_pairs", "metadata_items"):
        out[k] = (body[k]["limit"], body[k]["in_use"])
    cinder = devcloud.endpoint("block-storage", region)
    body = sess.get(f"{cinder}/os-quota-sets/{project_id}?usage=True").json()["quota_set"]
    for k in ("volumes", "gigabytes", "snapshots"):
        out[k] = (body[k]["limit"], body[k]["in_use"] + body[k]["reserved"])
    neutron = devcloud.endpoint("network", region)
    body = sess.get(f"{neutron}/v2.0/quotas/{project_id}/details").json()["quota"]
    for k in ("network", "port", "subnet", "security_group"):
        out[k] = (body[k]["limit"], body[k]["used"])
    return out


def _expected(policy, limit, used):
    """The formula, written out independently of multisite.reconcilers."""
    regions = sorted(used)
    if policy == "kingbird":
        return {r: max(limit - sum(used.values()), 0) + used[r] for r in regions}
    headroom = max(limit - sum(used.values()), 0)
    share, extra = divmod(headroom, len(regions))
    order = sorted(regions, key=lambda r: (-used[r], r))
    return {r: used[r] + share + (1 if r in order[:extra] else 0) for r in regions}


@pytest.mark.parametrize("policy", ["kingbird", "strict"])
def test_a_limits_follow_the_formula(qconf, manager, devcloud, fresh_project, usage, policy):
    p = fresh_project.id
    limits = {"volumes": 5, "network": 6, "port": 12, "key_pairs": 3, "security_group": 9}
    quotas.update(qconf, p, limits)
    quota_settings.update(qconf, p, {"quota_policy": policy})
    usage.volume(R1)
    usage.volume(R1)
    usage.volume(R2)
    net1 = usage.network(R1)
    usage.port(R1, net1)
    usage.port(R1, net1)
    usage.port(R2)            # its own network too
    usage.keypair(R1)
    usage.keypair(R2)

    summary = manager.sync_project(p)
    assert summary["failed"] == [] and summary["policy"] == policy

    seen = {r: region_quota(devcloud, r, p) for r in devcloud.regions}
    for resource in ("volumes", "network", "port", "security_group"):
        used = {r: seen[r][resource][1] for r in seen}
        got = {r: seen[r][resource][0] for r in seen}
        assert got == _expected(policy, limits[resource], used), resource
        if policy == "strict":
            assert sum(got.values()) == limits[resource]
    assert {seen[r]["volumes"][1] for r in seen} == {2, 1, 0}
    # key_pairs is a per-user limit: every region gets the global value
    assert {seen[r]["key_pairs"][0] for r in seen} == {3}
    # resources without a project limit follow the defaults (config / default class)
    instances = [seen[r]["instances"][0] for r in seen]
    assert instances == [10] * len(seen) if policy == "kingbird" else sum(instances) == 10

    detail = manager.get_total_usage_for_tenant(None, p)
    assert detail["unreachable_regions"] == []
    assert detail["usage"]["volumes"] == 3 and detail["usage"]["port"] == 3
    # a second pass finds nothing to change
    assert manager.sync_project(p)["written"] == {}


def test_b_strict_region_refuses_beyond_the_global_limit(qconf, manager, devcloud,
                                                         fresh_project, usage):
    p = fresh_project.id
    quotas.update(qconf, p, {"volumes": 3})
    quota_settings.update(qconf, p, {"quota_policy": "strict"})
    usage.volume(R1)
    usage.volume(R2)
    manager.sync_project(p)
    got = {r: region_quota(devcloud, r, p)["volumes"][0] for r in devcloud.regions}
    # the one unit of headroom goes to the busiest region, ties by name
    assert got == dict.fromkeys(devcloud.regions, 0) | {R1: 2, R2: 1}

    def refused(region):
        try:
            usage.volume(region)
        except Exception as exc:  # openstacksdk HttpException: 413 VolumeLimitExceeded
            assert "exceed" in str(exc).lower() or "413" in str(exc), exc
            return True
        return False

    assert refused(R3) and refused(R2)
    assert not refused(R1)          # the one unit of headroom
    assert refused(R1)              # now 3 volumes in all: the global limit
    total = sum(region_quota(devcloud, r, p)["volumes"][1] for r in devcloud.regions)
    assert total == 3


def test_endpoint_filter_restricts_a_project_to_its_regions(qconf, manager, devcloud,
                                                           fresh_project):
    """Keystone's OS-EP-FILTER: a project associated with RegionTwo's endpoints only is
    rebalanced in RegionTwo only; another project still spans every region."""
    sess = devcloud.session()
    identity = {"service_type": "identity", "interface": "public"}
    endpoints = sess.get("/endpoints?interface=public", endpoint_filter=identity).json()
    ids = [ep["id"] for ep in endpoints["endpoints"]
           if (ep.get("region_id") or ep.get("region")) == R2]
    assert ids, endpoints
    p = fresh_project.id
    for endpoint_id in ids:
        sess.put(f"/OS-EP-FILTER/projects/{p}/endpoints/{endpoint_id}",
                 endpoint_filter=identity)
    try:
        quotas.update(qconf, p, {"volumes": 4})
        assert manager.cloud.regions(p) == [R2]
        assert manager.cloud.regions(uuid.uuid4().hex) == sorted(devcloud.regions)
        summary = manager.sync_project(p)
        assert summary["regions"] == 1 and summary["failed"] == []
        assert region_quota(devcloud, R2, p)["volumes"][0] == 4
        untouched = region_quota(devcloud, R1, p)["volumes"][0]
        assert untouched != 4, "RegionOne was written although filtered out"
        assert set(sync_status.states(qconf, p)) == {R2}
    finally:
        for endpoint_id in ids:
            sess.delete(f"/OS-EP-FILTER/projects/{p}/endpoints/{endpoint_id}",
                        endpoint_filter=identity, raise_exc=False)


def _api_get(conf, path, project_id):
    app = api_app.build_app(conf)
    req = webob.Request.blank(path, headers={"X-Project-Id": project_id, "X-User-Id": "admin",
                                             "X-Roles": "admin"})
    return req.get_response(app)


def test_c_stopped_region_is_isolated_and_recovers(qconf, manager, devcloud, fresh_project,
                                                   usage):
    p = fresh_project.id
    quotas.update(qconf, p, {"volumes": 5})
    usage.volume(R1)
    usage.volume(R3)
    manager.sync_project(p)
    assert region_quota(devcloud, R3, p)["volumes"][0] == 4

    with region_down(R3):
        quotas.update(qconf, p, {"volumes": 7})
        summary = manager.sync_project(p, periodic=True)
        assert summary["failed"] == [R3]
        # RegionThree's last known usage (1) still counts: 7 - 2 + 1
        assert region_quota(devcloud, R1, p)["volumes"][0] == 6
        assert region_quota(devcloud, R2, p)["volumes"][0] == 5
        resp = _api_get(qconf, f"/v1.0/{p}/os-quota-sync-status/{p}", p)
        assert resp.status_int == 200, resp.body
        rows = {row["region"]: row for row in json.loads(resp.body)["sync_status"]}
        assert rows[R3]["status"] == "FAILURE" and rows[R3]["error"]
        assert rows[R1]["status"] == "SUCCESS" and rows[R2]["status"] == "SUCCESS"
        detail = manager.get_total_usage_for_tenant(None, p)
        assert detail["unreachable_regions"] == [R3] and detail["usage"]["volumes"] == 1
    time.sleep(1.2)                       # the region's backoff (base 1 s) has passed
    summary = manager.sync_project(p, periodic=True)
    assert summary["failed"] == [] and summary["waiting"] == []
    assert region_quota(devcloud, R3, p)["volumes"][0] == 6
    state = sync_status.states(qconf, p)[R3]
    assert state["status"] == "SUCCESS" and state["failures"] == 0


# -- real processes: multisite-api and two multisite-engine over RabbitMQ ------------------
def _port_open(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deployment:
    """multisite-api + N multisite-engine processes sharing a SQLite DB and RabbitMQ."""

    def __init__(self, tmp_path, *, engines=2, periodic_interval=None, coordination=None):
        self.dir = tmp_path
        self.port = _free_port()
        self.vhost = f"multisite-it-{uuid.uuid4().hex[:8]}"
        self.db_url = f"sqlite:///{tmp_path / 'multisite.sqlite'}"
        self.procs = {}
        self.engines = engines
        lines = [
            "[DEFAULT]",
            # a private vhost: queue names do not include the exchange, so on the shared
            # '/' other engines on this machine would consume our messages
            f"transport_url = rabbit://guest:guest@127.0.0.1:5672/{self.vhost}",
            "auth_strategy = noauth",
            "bind_host = 127.0.0.1",
            f"bind_port = {self.port}",
            "api_workers = 1",
            "report_interval = 1",
            f"host = it-{uuid.uuid4().hex[:6]}",
            "debug = true",
            "[database]",
            f"connection = {self.db_url}",
            "[scheduler]",
            f"periodic_enable = {'true' if periodic_interval else 'false'}",
            f"periodic_interval = {periodic_interval or 900}",
            "region_backoff_base = 1",
            "[batch]",
            "batch_size = 1",
            "[coordination]",
            f"backend_url = {coordination or 'file://' + str(tmp_path / 'locks')}",
            "[cache]",
            f"auth_uri = {L.Layout(L.default_base()).keystone_url}",
            "admin_username = admin",
            "admin_password = adminpw",
            "admin_tenant = admin",
            "admin_user_domain_name = Default",
            "admin_project_domain_name = Default",
            "region_timeout = 5",
        ]
        self.conf_file = tmp_path / "multisite.conf"
        self.conf_file.write_text("\n".join(lines) + "\n")

    def _bin(self, name):
        return os.path.join(os.path.dirname(sys.executable), name)

    def _rabbitmqctl(self, *args):
        subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)

    def start(self):
        self._rabbitmqctl("add_vhost", self.vhost)
        self._rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        subprocess.run([self._bin("multisite-manage"), "--config-file", str(self.conf_file),
                        "db_sync"], check=True, capture_output=True, timeout=120)
        self.spawn("api", "multisite-api")
        for i in range(self.engines):
            self.spawn(f"engine{i}", "multisite-engine")
        deadline = time.monotonic() + 60
        while not _port_open(self.port):
            assert time.monotonic() < deadline, self.log("api")[-3000:]
            time.sleep(0.3)

    def spawn(self, name, binary):
        log = self.dir / f"{name}.log"
        self.procs[name] = subprocess.Popen(
            [self._bin(binary), "--config-file", str(self.conf_file), "--log-file", str(log)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log(self, name):
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        try:
            self._rabbitmqctl("delete_vhost", self.vhost)
        except (OSError, subprocess.SubprocessError):
            pass

    def request(self, method, path, project_id, body=None):
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
            headers={"X-Project-Id": project_id, "X-User-Id": "admin", "X-Roles": "admin",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")


def _rabbit_up():
    return _port_open(5672)


@pytest.fixture
def deployment_factory(tmp_path, devcloud):
    made = []

    def make(**kwargs):
        require_service("RabbitMQ", _rabbit_up(), "127.0.0.1:5672")
        require_service("rabbitmqctl", shutil.which("rabbitmqctl") is not None,
                        "needed to create a private vhost")
        deployment = Deployment(tmp_path, **kwargs)
        made.append(deployment)
        deployment.start()
        return deployment

    yield make
    for deployment in made:
        deployment.stop()


@pytest.mark.rabbit
def test_api_and_two_engines_over_rabbitmq(deployment_factory, devcloud, fresh_project, usage):
    dep = deployment_factory(engines=2)
    p = fresh_project.id
    usage.volume(R2)
    status, _, body = dep.request("PUT", f"/v1.0/{p}/os-quota-sets/{p}", p,
                                  {"quota_set": {"volumes": 4}})
    assert status == 200 and body == {p: {"volumes": 4}}
    # detail: a synchronous RPC call answered by one of the engines, with real usage
    status, headers, body = dep.request("GET", f"/v1.0/{p}/os-quota-sets/{p}/detail", p)
    assert status == 200
    assert body["quota_set"]["usage"]["volumes"] == 1
    assert body["quota_set"]["limits"]["volumes"] == 4
    assert "X-Multisite-Unreachable-Regions" not in headers
    # sync: a cast; some engine rebalances the project
    status, _, body = dep.request("PUT", f"/v1.0/{p}/os-quota-sets/{p}/sync", p)
    assert body == f"triggered quota sync for {p}"
    deadline = time.monotonic() + 60
    want = dict.fromkeys(devcloud.regions, 3) | {R2: 4}
    while True:
        got = {r: region_quota(devcloud, r, p)["volumes"][0] for r in devcloud.regions}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert got == want, dep.log("engine0")[-2000:] + dep.log("engine1")[-2000:]
    status, _, body = dep.request("GET", f"/v1.0/{p}/os-quota-sync-status/{p}", p)
    assert {row["region"] for row in body["sync_status"]} == set(devcloud.regions)
    # both engines are alive (liveness rows) and consumed from the same topic
    for name in ("engine0", "engine1"):
        assert dep.procs[name].poll() is None, dep.log(name)[-2000:]


_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*Quota sync (start|end): "
                   r"project=(\w+) engine=([\w-]+)")


def _events(text):
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            stamp = time.mktime(time.strptime(m.group(1).split(".")[0], "%Y-%m-%d %H:%M:%S"))
            stamp += float("0." + m.group(1).split(".")[1])
            out.append((stamp, m.group(2), m.group(3), m.group(4)))
    return out


@pytest.mark.rabbit
def test_d_kill_one_of_two_engines_during_a_periodic_run(deployment_factory, devcloud):
    require_service("Redis", _port_open(6379), "127.0.0.1:6379")
    interval = 8
    ident = devcloud.admin_connection().identity
    projects = [ident.create_project(name=f"it-kill-{uuid.uuid4().hex[:8]}",
                                     domain_id="default") for _ in range(8)]
    try:
        dep = deployment_factory(engines=2, periodic_interval=interval,
                                 coordination="redis://127.0.0.1:6379")
        for proj in projects:
            dep.request("PUT", f"/v1.0/{proj.id}/os-quota-sets/{proj.id}", proj.id,
                        {"quota_set": {"volumes": 6}})
        # wait for a periodic run in which both engines work, then kill -9 one mid-run
        deadline = time.monotonic() + 3 * interval + 30
        victim = None
        while victim is None and time.monotonic() < deadline:
            for name in ("engine0", "engine1"):
                starts = [e for e in _events(dep.log(name)) if e[1] == "start"]
                ends = [e for e in _events(dep.log(name)) if e[1] == "end"]
                if len(starts) > len(ends) and len({e[2] for e in starts}) >= 1:
                    victim = name
                    break
            time.sleep(0.05)
        assert victim, "no engine started a periodic sync"
        dep.procs[victim].send_signal(signal.SIGKILL)
        killed_at = time.time()
        dep.procs[victim].wait()
        survivor = "engine1" if victim == "engine0" else "engine0"
        # within two intervals (plus the lock/membership expiry) every project is synced
        ids = {proj.id for proj in projects}
        deadline = time.monotonic() + 2 * interval + 5
        while time.monotonic() < deadline:
            done = {e[2] for e in _events(dep.log(survivor))
                    if e[1] == "end" and e[0] >= killed_at}
            if ids <= done:
                break
            time.sleep(0.5)
        assert ids <= done, (ids - done, dep.log(survivor)[-3000:])
        # never two passes of a project at the same time, across both engines
        spans = {}
        for name in ("engine0", "engine1"):
            open_ = {}
            for stamp, kind, project, _engine in _events(dep.log(name)):
                if kind == "start":
                    open_[project] = stamp
                elif project in open_:
                    spans.setdefault(project, []).append((open_.pop(project), stamp, name))
            for project, stamp in open_.items():     # cut short by the kill
                end = killed_at if name == victim else time.time()
                spans.setdefault(project, []).append((stamp, end, name))
        for project, runs in spans.items():
            runs.sort()
            for (s1, e1, n1), (s2, _e2, n2) in zip(runs, runs[1:], strict=False):
                assert s2 >= e1 - 0.01, (project, n1, n2, s1, e1, s2)
        for proj in projects:
            limits = {r: region_quota(devcloud, r, proj.id)["volumes"][0]
                      for r in devcloud.regions}
            assert limits == dict.fromkeys(devcloud.regions, 6)
    finally:
        for proj in projects:
            ident.delete_project(proj, ignore_missing=True)
