"""The central event feed against the devcloud's full profile (issue 12's feed tests).

Real processes: ``multisite-api`` (Keystone tokens) and ``multisite-engine``, configured by
``multisite-devcloud multisite-conf``, listening to each region's own RabbitMQ vhost. The
resources are made with the real ``openstack`` client as a project's member:

* a network, a volume and a keypair in two regions arrive in ``GET /v2/events`` with their
  region, project and type; a member of another project sees none of them;
* a keypair os-sync job's start and end are in the same feed, under the caller;
* the engine killed (SIGKILL) while notifications are in flight and restarted: nothing is
  stored twice, and what was published meanwhile arrives;
* one region's bus unreachable (a wrong URL): the other region's events keep arriving, and
  ``/v2/regions`` shows that region's ``notifications`` service down.

The full profile because only there does a volume produce notifications (cinder-volume).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest

from tests.functional.api import servers
from tests.integration.usage import PUBLIC_KEY, unique
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full, pytest.mark.rabbit]

BIN = os.path.dirname(sys.executable)
WRONG_BUS = "rabbit://guest:guest@127.0.0.1:5672/multisite-it-no-such-vhost"


def _rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60, check=False)


class Feed:
    """multisite-api + multisite-engine on the devcloud, with a listener pool of its own."""

    def __init__(self, cloud, directory):
        self.cloud, self.dir = cloud, directory
        self.port = servers.free_port()
        self.rpc_vhost = f"multisite-it-{uuid.uuid4().hex[:8]}"
        self.pool = f"multisite-it-events-{uuid.uuid4().hex[:8]}"
        self.regions = cloud.regions[:2]
        self.db = f"sqlite:///{directory / 'multisite.sqlite'}"
        self.api = self.engine = None
        self.engine_runs = 0
        base = subprocess.run(
            [os.path.join(BIN, "multisite-devcloud"), "--base", str(cloud.base),
             "multisite-conf", "--state", str(directory),
             "--transport-url", f"rabbit://guest:guest@127.0.0.1:5672/{self.rpc_vhost}"],
            check=True, capture_output=True, text=True, timeout=60).stdout
        # only our two regions' buses (RegionThree, when the devcloud has it, is not listened to)
        keep = [f"region_transport_url = {r}=" for r in self.regions]
        self.base_text = "\n".join(
            line for line in base.splitlines()
            if not line.startswith("region_transport_url") or line.startswith(tuple(keep)))
        self.overrides = directory / "overrides.conf"
        self.overrides.write_text(f"""[DEFAULT]
bind_port = {self.port}
report_interval = 1
debug = true
[scheduler]
periodic_enable = false
[health]
enabled = true
interval = 3
timeout = 5
capacity_interval = 3600
[notifications]
pool = {self.pool}
batch_timeout = 0.2
""")
        self.write_conf()

    def write_conf(self, *, wrong_bus=None):
        text = self.base_text
        if wrong_bus:
            text = text.replace(f"{wrong_bus}={self.cloud.transport_url(wrong_bus)}",
                                f"{wrong_bus}={WRONG_BUS}")
            assert WRONG_BUS in text
        self.conf = self.dir / "multisite.conf"
        self.conf.write_text(text + "\n")

    def _spawn(self, binary, name):
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (closed by servers.stop)
        proc = subprocess.Popen(
            [os.path.join(BIN, binary), "--config-file", str(self.conf), "--config-file",
             str(self.overrides)], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT)
        proc.log = log
        return proc

    def start(self):
        assert _rabbitmqctl("add_vhost", self.rpc_vhost).returncode == 0
        _rabbitmqctl("set_permissions", "-p", self.rpc_vhost, "guest", ".*", ".*", ".*")
        subprocess.run([os.path.join(BIN, "multisite-manage"), "--config-file", str(self.conf),
                        "--config-file", str(self.overrides), "db_sync"],
                       check=True, capture_output=True, timeout=300)
        self.start_engine()
        self.api = self._spawn("multisite-api", "api")
        wait_for(lambda: servers.port_open(self.port), timeout=60, what="multisite-api")

    def start_engine(self):
        self.engine_runs += 1
        self.engine = self._spawn("multisite-engine", f"engine{self.engine_runs}")
        servers.wait_engine(self.engine, self.db, timeout=120)

    def kill_engine(self):
        self.engine.send_signal(signal.SIGKILL)
        servers.stop(self.engine)

    def stop(self):
        for proc in (self.api, self.engine):
            if proc is not None:
                servers.stop(proc)
        _rabbitmqctl("delete_vhost", self.rpc_vhost)
        # the pool's queue on each region's vhost would keep collecting notifications
        for region in self.regions:
            vhost = self.cloud.transport_url(region).rsplit("/", 1)[1]
            _rabbitmqctl("delete_queue", "-p", vhost, self.pool)

    def log(self):
        return "\n".join((p.read_text(errors="replace")[-3000:])
                         for p in sorted(self.dir.glob("*.log")))

    def request(self, method, path, token, body=None):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-Auth-Token": token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def events(self, token, **query):
        """Every event the token sees (following the `next` links)."""
        path = "/v2/events?" + "&".join(f"{k}={v}" for k, v in
                                        dict({"limit": 500}, **query).items())
        found = []
        while path:
            status, body = self.request("GET", path, token)
            assert status == 200, body
            found += body["events"]
            nxt = [link["href"] for link in body.get("links", []) if link["rel"] == "next"]
            path = nxt[0].split(str(self.port), 1)[1] if nxt else None
        return found


@pytest.fixture(scope="module")
def feed(devcloud_full, tmp_path_factory):
    if len(devcloud_full.regions) < 2 or not devcloud_full.vhosts:
        pytest.fail(f"the full devcloud needs 2 regions with vhosts: {devcloud_full.regions}")
    made = Feed(devcloud_full, tmp_path_factory.mktemp("feed"))
    try:
        made.start()
        yield made
    finally:
        made.stop()


@pytest.fixture(scope="module")
def member(devcloud_full):
    project = devcloud_full.create_project()
    yield project
    for region in devcloud_full.regions[:2]:
        conn = project.connect(region)
        for kind, items in (("volume", conn.block_storage.volumes()),
                            ("network", conn.network.networks(project_id=project.id)),
                            ("keypair", conn.compute.keypairs())):
            for item in list(items):
                try:
                    {"volume": conn.block_storage.delete_volume,
                     "network": conn.network.delete_network,
                     "keypair": conn.compute.delete_keypair}[kind](item)
                except Exception as exc:  # noqa: BLE001 - cleanup goes on
                    print(f"cleanup of {kind} {item.id} in {region}: {exc}")
    devcloud_full.delete_project(project)


def openstack(cloud, project, region, *args):
    """The real ``openstack`` client as the project's member; returns its JSON output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    creds = project.credentials
    env.update(OS_AUTH_URL=cloud.keystone_url, OS_IDENTITY_API_VERSION="3",
               OS_USERNAME=creds.username, OS_PASSWORD=creds.password,
               OS_PROJECT_NAME=creds.project_name, OS_USER_DOMAIN_NAME=creds.user_domain_name,
               OS_PROJECT_DOMAIN_NAME=creds.project_domain_name, OS_REGION_NAME=region,
               OS_INTERFACE="public")
    out = subprocess.run([os.path.join(BIN, "openstack"), *args, "-f", "json"], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"openstack {' '.join(args)}: {out.stderr[-2000:]}"
    return json.loads(out.stdout)


def wait_events(feed, token, wanted, *, timeout=60):
    """Until each (region, event_type, resource_id) of `wanted` is in the feed."""
    def check():
        seen = {(e["region"], e["event_type"], e["resource_id"]) for e in feed.events(token)}
        return not (set(wanted) - seen)

    try:
        wait_for(check, timeout=timeout, interval=1, what=f"events {sorted(wanted, key=str)}")
    except AssertionError:
        seen = {(e["region"], e["event_type"], e["resource_id"]) for e in feed.events(token)}
        missing = sorted(set(wanted) - seen, key=str)
        raise AssertionError(f"missing {missing}\n{feed.log()}") from None


def test_events_of_two_regions_reach_the_feed_of_their_project_only(feed, member):
    cloud = feed.cloud
    keyfile = feed.dir / "key.pub"
    keyfile.write_text(PUBLIC_KEY + "\n")
    token = cloud.token(member.credentials)
    wanted, made = set(), {}
    for region in feed.regions:
        net = openstack(cloud, member, region, "network", "create", unique("feed-net"))
        vol = openstack(cloud, member, region, "volume", "create", "--size", "1",
                        unique("feed-vol"))
        key = openstack(cloud, member, region, "keypair", "create", "--public-key",
                        str(keyfile), unique("feed-key"))
        made[region] = (net["id"], vol["id"], key["name"])
        wanted |= {(region, "network.create.end", net["id"]),
                   (region, "volume.create.end", vol["id"]),
                   (region, "keypair.import.end", key["name"])}
    wait_events(feed, token, wanted)
    ours = [e for e in feed.events(token)
            if (e["region"], e["event_type"], e["resource_id"]) in wanted]
    assert {e["project_id"] for e in ours} == {member.id}
    assert {e["origin"] for e in ours} == {"region"}
    assert {e["user_id"] for e in ours} == {member.user_id}
    # ... a region's event is that region's only (each bus is its own)
    for region, ids in made.items():
        assert {e["region"] for e in ours if e["resource_id"] in ids} == {region}
    # a filter by region and type, as an operator would ask
    r1 = feed.events(token, region=feed.regions[0], event_type="network.create.end")
    assert {e["resource_id"] for e in r1} == {made[feed.regions[0]][0]}

    # a member of another project sees none of it, and may not ask for it
    other = cloud.create_project()
    try:
        other_token = cloud.token(other.credentials)
        seen = {e["resource_id"] for e in feed.events(other_token)}
        assert not seen & {rid for _, _, rid in wanted}
        status, body = feed.request("GET", f"/v2/events?project_id={member.id}", other_token)
        assert status == 403, body
        # an admin sees the member's events by naming the project
        admin = {e["resource_id"] for e in feed.events(cloud.token(), project_id=member.id)}
        assert {rid for _, _, rid in wanted} <= admin
    finally:
        cloud.delete_project(other)

    # a keypair os-sync job: its start and end are in the same feed, under the member
    r1, r2 = feed.regions
    key = made[r1][2]
    status, body = feed.request("POST", f"/v1.0/{member.id}/os-sync", token, {
        "resource_set": {"resource_type": "keypair", "resources": [key], "source": r1,
                         "target": [r2], "force": "True"}})
    assert status == 200, body
    job = body["job_status"]["id"]
    # (the copy in RegionTwo is made with Multisite's service account: Nova's event of it
    # is the service project's, not the member's)
    wait_events(feed, token, {(None, "multisite.sync_job.start", job),
                              (None, "multisite.sync_job.end", job)})
    start, end = sorted((e for e in feed.events(token) if e["resource_id"] == job),
                        key=lambda e: e["id"])
    assert start["event_type"] == "multisite.sync_job.start"
    assert start["payload"]["targets"] == [r2] and start["payload"]["resources"] == [key]
    assert (end["event_type"], end["payload"]["status"]) == ("multisite.sync_job.end",
                                                             "SUCCESS")
    for event in (start, end):
        assert (event["origin"], event["project_id"], event["user_id"]) == (
            "multisite", member.id, member.user_id)
        assert event["request_id"] and event["request_id"] == start["request_id"]


def test_a_killed_listener_duplicates_nothing_and_one_bad_bus_stops_no_other(feed, member):
    cloud = feed.cloud
    token = cloud.token(member.credentials)
    r1, r2 = feed.regions
    before = {e["message_id"]: e["id"] for e in feed.events(token)}
    # notifications in flight when the engine dies, and more while it is down
    made = {(region, "network.create.end", openstack(
        cloud, member, region, "network", "create", unique("feed-kill"))["id"])
        for region in (r1, r2)}
    feed.kill_engine()
    made |= {(region, "network.create.end", openstack(
        cloud, member, region, "network", "create", unique("feed-down"))["id"])
        for region in (r1, r2)}
    feed.start_engine()
    wait_events(feed, token, made)
    after = feed.events(token)
    counted = collections.Counter(e["message_id"] for e in after)
    assert [m for m, n in counted.items() if n > 1] == []
    # ... nor twice under two message ids (a `.start` has no resource id yet)
    kinds = collections.Counter((e["region"], e["event_type"], e["resource_id"])
                                for e in after if e["origin"] == "region" and e["resource_id"])
    assert [k for k, n in kinds.items() if n > 1] == []
    # what was stored before the restart is still there, under the same ids
    assert {e["message_id"]: e["id"] for e in after if e["message_id"] in before} == before

    # restarted with RegionTwo's bus unreachable (a wrong URL) ...
    servers.stop(feed.engine)
    feed.write_conf(wrong_bus=r2)
    feed.start_engine()
    later = {region: openstack(cloud, member, region, "network", "create",
                               unique("feed-bad"))["id"] for region in (r1, r2)}
    # ... RegionOne's events keep arriving
    wait_events(feed, token, {(r1, "network.create.end", later[r1])})
    # ... and the failure is visible in /v2/regions
    admin = cloud.token()

    def bus(region):
        status, body = feed.request("GET", f"/v2/regions/{region}", admin)
        assert status == 200, body
        return body["region"]["services"].get("notifications") or {}

    wait_for(lambda: bus(r2).get("reachable") is False, timeout=30, interval=1,
             what=f"{r2}'s notifications service down")
    assert bus(r2)["last_error"]
    assert bus(r1)["reachable"] is True
    assert later[r2] not in {e["resource_id"] for e in feed.events(token)}
    status, body = feed.request(
        "GET", f"/v2/events?all_projects=true&region={r2}&event_type=region.down", admin)
    assert status == 200 and any(e["payload"].get("service") == "notifications"
                                 for e in body["events"]), body
