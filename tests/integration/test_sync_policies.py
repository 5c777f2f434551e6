"""Continuous sync policies against the devcloud's real Nova and Neutron.

The API and an engine run in this process (noauth headers with the real project and user
ids, fake:// RPC); the engine audits every `[sync_policy] audit_interval` (2 s here). Drift
is made with the `openstack` client of the devcloud, as an operator would.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import webob

from multisite.clients import network as network_client
from multisite.devcloud import layout as devcloud_layout
from tests.integration.test_sync_jobs import _cache_overrides
from tests.integration.test_sync_security_groups import _make_web_and_app, _shape, cleanup_groups
from tests.integration.usage import PUBLIC_KEY, region_down, unique, wait_for

pytestmark = pytest.mark.integration
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
PERIOD = 2.0


@pytest.fixture
def stack(devcloud, conf, request):
    _cache_overrides(conf)
    conf.set_override("audit_interval", PERIOD, group="sync_policy")
    conf.set_override("report_interval", 1)
    yield request.getfixturevalue("wsgi_app")
    conf.clear_override("audit_interval", group="sync_policy")
    conf.clear_override("report_interval")


class V2:
    def __init__(self, app, project, *, roles="member"):
        self.app, self.project, self.roles = app, project, roles

    def __call__(self, method, path, body=None):
        req = webob.Request.blank(f"/v2/sync-policies{path}", method=method, headers={
            "X-Project-Id": self.project.id, "X-User-Id": self.project.user_id,
            "X-Roles": self.roles})
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = "application/json"
        resp = req.get_response(self.app)
        return resp.status_int, json.loads(resp.body) if resp.body else None

    def create(self, **spec):
        status, body = self("POST", "", {"sync_policy": spec})
        assert status == 200, body
        return body["sync_policy"]["id"]

    def states(self, policy_id, *, audit=False):
        status, body = self("POST" if audit else "GET",
                            f"/{policy_id}/audit" if audit else f"/{policy_id}")
        assert status == 200, body
        return {t["region"]: t for t in body["sync_policy"]["targets_state"]}


def openstack(devcloud, project, region, *args):
    """The devcloud's `openstack` client as the project's member user."""
    env = dict(os.environ, OS_AUTH_URL=devcloud.auth_url, OS_USERNAME=project.username,
               OS_PASSWORD=project.password, OS_PROJECT_NAME=project.name,
               OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default",
               OS_IDENTITY_API_VERSION="3", OS_REGION_NAME=region, OS_INTERFACE="public")
    env.pop("OS_CLOUD", None)
    return subprocess.run([str(devcloud.base / "venv" / "bin" / "openstack"), *args],
                          env=env, check=True, capture_output=True, text=True,
                          timeout=120).stdout


def _ssh_rule(conn, project_id):
    web = next(iter(conn.network.security_groups(name="web", project_id=project_id)))
    return next(r for r in web.security_group_rules if r["port_range_min"] == 22)


def test_enforce_restores_a_deleted_rule_observe_only_reports(stack, fresh_project, devcloud):
    api = V2(stack, fresh_project)
    with cleanup_groups(devcloud, fresh_project):
        _make_web_and_app(fresh_project.connect(R1))
        enforce = api.create(resource_type="security_group", resources=["web"], source=R1,
                             targets=[R2], on_drift="enforce")
        assert api.states(enforce, audit=True)[R2]["state"] == "in_sync"
        want = _shape(fresh_project.connect(R1), fresh_project.id)
        assert _shape(fresh_project.connect(R2), fresh_project.id)["web"] == want["web"]

        r2 = fresh_project.connect(R2)
        openstack(devcloud, fresh_project, R2, "security group rule delete",
                  _ssh_rule(r2, fresh_project.id)["id"])
        deleted = time.monotonic()
        wait_for(lambda: _shape(r2, fresh_project.id)["web"] == want["web"],
                 timeout=2 * PERIOD + 5, interval=0.2, what="the rule restored")
        repaired = time.monotonic() - deleted
        print(f"\ndrift -> repaired: {repaired:.2f} s (audit period {PERIOD} s)")
        assert repaired <= 2 * PERIOD + 2
        assert api.states(enforce)[R2]["repaired_at"] is not None

        # observe, over a target this policy did not write: adopted, then drift reported
        observe = api.create(resource_type="security_group", resources=["web"], source=R1,
                             targets=[R3], on_drift="observe")
        api.states(observe, audit=True)
        assert api.states(observe)[R3]["state"] == "missing"
        # the one-shot job syncs R3; the policy then finds it identical (adopted)
        status, body = api("DELETE", f"/{enforce}")
        assert status == 200
        _sync_once(stack, fresh_project)
        assert api.states(observe, audit=True)[R3]["state"] == "in_sync"
        r3 = fresh_project.connect(R3)
        openstack(devcloud, fresh_project, R3, "security group rule delete",
                  _ssh_rule(r3, fresh_project.id)["id"])
        writes = network_client.writes()
        state = api.states(observe, audit=True)[R3]
        time.sleep(PERIOD * 1.5)             # a periodic audit too
        assert network_client.writes() == writes
        assert state["state"] == "drifted", state
        assert "missing rules: ingress IPv4 tcp 22-22 from 10.0.0.0/8" in \
            state["detail"][0]["detail"], state
        assert _shape(r3, fresh_project.id)["web"] != want["web"]


def _sync_once(app, project):
    from tests.integration.test_sync_jobs import Api
    api = Api(app, project)
    rows = api.wait(api.create("security_group", ["web"], targets=[R3]))
    assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows


def test_keypair_policy_all_regions_one_target_down(stack, fresh_project, devcloud):
    """targets "all": every region but the source; R3's Nova killed -> failed, R2 fine."""
    api = V2(stack, fresh_project)
    name = unique("kp")
    fresh_project.connect(R1).compute.create_keypair(name=name, public_key=PUBLIC_KEY)
    try:
        policy = api.create(resource_type="keypair", resources=[name], source=R1,
                            targets="all", on_drift="enforce")
        with region_down(R3, services=("nova",)):
            states = api.states(policy, audit=True)
        assert states[R2]["state"] == "in_sync", states
        assert states[R3]["state"] == "failed", states
        assert "RegionThree" in states[R3]["detail"][0]["detail"], states
        assert fresh_project.connect(R2).compute.find_keypair(name) is not None
        wait_for(lambda: api.states(policy)[R3]["state"] == "in_sync", timeout=60,
                 interval=0.5, what="RegionThree converged after it came back")
        assert fresh_project.connect(R3).compute.find_keypair(name).public_key == PUBLIC_KEY
    finally:
        for region in (R1, R2, R3):
            try:
                fresh_project.connect(region).compute.delete_keypair(name, ignore_missing=True)
            except Exception:
                pass


def _endpoint_ids(sess):
    identity = {"service_type": "identity", "interface": "public"}
    endpoints = sess.get("/endpoints", endpoint_filter=identity).json()["endpoints"]
    by_region = {}
    for ep in endpoints:
        by_region.setdefault(ep.get("region_id") or ep.get("region"), []).append(ep["id"])
    return by_region


def _admin_keypair(sess, region, name, user_id):
    """The user's keypair `name` in `region` as the admin reads it (None if absent)."""
    resp = sess.get(f"/os-keypairs/{name}?user_id={user_id}", raise_exc=False,
                    endpoint_filter={"service_type": "compute", "interface": "public",
                                     "region_name": region},
                    headers={"OpenStack-API-Version": "compute 2.10",
                             "X-OpenStack-Nova-API-Version": "2.10"})
    return resp.json()["keypair"] if resp.status_code == 200 else None


def test_keypair_policy_all_regions_reaches_a_region_added_later(stack, conf, fresh_project,
                                                                devcloud):
    """targets "all" are the project's regions in Keystone's catalog: with OS-EP-FILTER
    the project first has RegionOne and RegionTwo only; RegionThree's endpoints are
    associated with it afterwards (the region added to its catalog) and the running
    engine's next audits create the keypair there. Nothing else in the shared devcloud
    changes: the endpoint filter is the fresh project's own."""
    conf.set_override("catalog_ttl", 1, group="cache")
    sess = devcloud.session()
    identity = {"service_type": "identity", "interface": "public"}
    by_region = _endpoint_ids(sess)
    assert {R1, R2, R3} <= set(by_region), by_region
    p, name = fresh_project.id, unique("kp")
    associated = []

    def associate(region):
        for endpoint_id in by_region[region]:
            sess.put(f"/OS-EP-FILTER/projects/{p}/endpoints/{endpoint_id}",
                     endpoint_filter=identity)
            associated.append(endpoint_id)

    api = V2(stack, fresh_project)
    try:
        associate(R1)
        associate(R2)
        fresh_project.connect(R1).compute.create_keypair(name=name, public_key=PUBLIC_KEY)
        policy = api.create(resource_type="keypair", resources=[name], source=R1,
                            targets="all", on_drift="enforce")
        states = api.states(policy, audit=True)
        assert set(states) == {R2}, states
        assert states[R2]["state"] == "in_sync", states
        assert _admin_keypair(sess, R2, name, fresh_project.user_id) is not None
        assert _admin_keypair(sess, R3, name, fresh_project.user_id) is None

        associate(R3)
        wait_for(lambda: api.states(policy).get(R3, {}).get("state") == "in_sync",
                 timeout=PERIOD * 2 + 20, interval=0.5,
                 what="RegionThree, added to the project's catalog, audited in sync")
        got = _admin_keypair(sess, R3, name, fresh_project.user_id)
        assert got is not None and got["public_key"].strip() == PUBLIC_KEY.strip()
    finally:
        conf.clear_override("catalog_ttl", group="cache")
        for endpoint_id in associated:
            sess.delete(f"/OS-EP-FILTER/projects/{p}/endpoints/{endpoint_id}",
                        endpoint_filter=identity, raise_exc=False)
        for region in (R1, R2, R3):
            sess.delete(f"/os-keypairs/{name}?user_id={fresh_project.user_id}",
                        raise_exc=False,
                        endpoint_filter={"service_type": "compute", "interface": "public",
                                         "region_name": region},
                        headers={"OpenStack-API-Version": "compute 2.10"})


def test_flavor_and_image_policies_on_the_devcloud(stack, fresh_project, devcloud):
    """Flavor (admin, extra specs) and image (the project's, data verified) policies over
    the real Nova and Glance: copied, then a copy deleted in the target is made again
    (Glance never reuses a deleted image's id: the new copy has a derived id)."""
    member = V2(stack, fresh_project)
    as_admin = V2(stack, fresh_project, roles="admin,member")
    name = unique("flv")
    r1, r2 = devcloud.admin_connection(R1), devcloud.admin_connection(R2)
    flavor = r1.compute.create_flavor(name=name, ram=128, vcpus=1, disk=1)
    r1.compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "shared"})
    data = os.urandom(64 * 1024)
    image = fresh_project.connect(R1).image.create_image(
        name=unique("img"), data=data, disk_format="raw", container_format="bare")
    made = []
    try:
        status, body = as_admin("POST", "", {"sync_policy": {
            "resource_type": "flavor", "resources": [name], "source": R1, "targets": [R2],
            "on_drift": "enforce"}})
        assert status == 200, body
        status, body = as_admin("POST", f"/{body['sync_policy']['id']}/audit")
        assert status == 200, body
        assert [t["state"] for t in body["sync_policy"]["targets_state"]] == ["in_sync"], body
        copy = r2.compute.get_flavor(flavor.id)
        assert (copy.name, copy.ram, copy.vcpus) == (name, 128, 1)
        assert r2.compute.fetch_flavor_extra_specs(copy).extra_specs == {
            "hw:cpu_policy": "shared"}

        policy = member.create(resource_type="image", resources=[image.id], source=R1,
                               targets=[R2], on_drift="enforce")
        assert member.states(policy, audit=True)[R2]["state"] == "in_sync"
        source = r1.image.get_image(image.id)
        first = r2.image.get_image(image.id)
        made.append(first.id)
        assert source.checksum and first.checksum == source.checksum
        assert first.owner == fresh_project.id
        r2.image.delete_image(first.id)
        assert member.states(policy, audit=True)[R2]["state"] == "in_sync"
        again = [i for i in r2.image.images(owner=fresh_project.id) if i.name == image.name]
        made += [i.id for i in again]
        assert len(again) == 1 and again[0].id != image.id, again
        assert again[0].checksum == source.checksum
        assert member.states(policy, audit=True)[R2]["state"] == "in_sync"   # converged:
        assert [i.id for i in r2.image.images(owner=fresh_project.id)] == [again[0].id]
    finally:
        for conn in (r1, r2):
            for found in conn.compute.flavors(is_public=None):
                if found.name == name:
                    conn.compute.delete_flavor(found.id, ignore_missing=True)
        for image_id in made:
            r2.image.delete_image(image_id, ignore_missing=True)
        r1.image.delete_image(image.id, ignore_missing=True)


def _engine_process(tmp_path, conf, log_name):
    """A `multisite-engine` process on the test's database, auditing every second."""
    path = tmp_path / "engine.conf"
    path.write_text(f"""[DEFAULT]
transport_url = fake://
host = it-policy-engine
report_interval = 1
[database]
connection = {conf.database.connection}
[cache]
auth_uri = {devcloud_layout.keystone_url(devcloud_layout.env_port_offset())}
admin_username = admin
admin_password = adminpw
admin_tenant = admin
[sync_policy]
audit_interval = 1
[scheduler]
periodic_enable = false
[coordination]
backend_url = file://{tmp_path}/locks
""")
    log = open(tmp_path / log_name, "wb")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "multisite.cmd.engine", "--config-file",
                             str(path)], stdout=log, stderr=subprocess.STDOUT)


def test_engine_killed_during_a_repair_repairs_once(devcloud, conf, request, fresh_project,
                                                     tmp_path):
    """kill -9 of the engine while it creates 8 groups in RegionTwo; a new engine
    finishes the repair: every group once, every rule once."""
    _cache_overrides(conf)
    conf.set_override("audit_interval", 3600, group="sync_policy")   # in-process: no audits
    app = request.getfixturevalue("wsgi_app")
    api = V2(app, fresh_project)
    source = fresh_project.connect(R1)
    names = [f"tier{i:02d}" for i in range(8)]   # + default: within the quota of 10
    first = second = None
    with cleanup_groups(devcloud, fresh_project):
        for name in names:
            group = source.network.create_security_group(name=name)
            for port in (22, 80, 443):
                source.network.create_security_group_rule(
                    security_group_id=group.id, direction="ingress", ethertype="IPv4",
                    protocol="tcp", port_range_min=port, port_range_max=port,
                    remote_ip_prefix="10.0.0.0/8")
        policy = api.create(resource_type="security_group", resources="all", source=R1,
                            targets=[R2], on_drift="enforce")
        r2 = fresh_project.connect(R2)

        def made():
            return [g.name for g in r2.network.security_groups(project_id=fresh_project.id)
                    if g.name in names]

        try:
            first = _engine_process(tmp_path, conf, "engine1.log")
            wait_for(lambda: len(made()) >= 2, timeout=120, interval=0.05,
                     what="the repair to be under way")
            first.send_signal(signal.SIGKILL)
            first.wait()
            partial = made()
            print(f"\nkilled with {len(partial)} of {len(names)} groups made")
            assert len(partial) < len(names), "the repair ended before the kill"
            second = _engine_process(tmp_path, conf, "engine2.log")
            wait_for(lambda: api.states(policy).get(R2, {}).get("state") == "in_sync",
                     timeout=180, interval=0.5, what="the policy in sync after the restart")
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=30)
        assert sorted(made()) == names                     # each group exactly once
        want = _shape(source, fresh_project.id)
        got = _shape(r2, fresh_project.id)
        for name in names:
            assert got[name] == want[name], name           # each rule exactly once
    conf.clear_override("audit_interval", group="sync_policy")


def test_flavor_policy_keeps_a_private_flavors_access_list(stack, fresh_project, devcloud):
    """A private flavor's os-flavor-access list is part of a flavor policy's desired
    state on the real Nova: copied; access granted and revoked in the target is reported
    (observe, nothing written) and put back (enforce)."""
    r1, r2 = devcloud.admin_connection(R1), devcloud.admin_connection(R2)
    other = r1.current_project_id        # the admin project: another real project
    name = unique("priv")
    flavor = r1.compute.create_flavor(name=name, ram=128, vcpus=1, disk=1, is_public=False)
    r1.compute.flavor_add_tenant_access(flavor, fresh_project.id)

    admin = V2(stack, fresh_project, roles="admin,member")

    def as_admin(method, path, body=None):
        status, answer = admin(method, path, body)
        assert status in (200, 204), answer
        return answer

    def policy(on_drift):
        return as_admin("POST", "", {"sync_policy": {
            "resource_type": "flavor", "resources": [name], "source": R1,
            "targets": [R2], "on_drift": on_drift}})["sync_policy"]["id"]

    def audit(policy_id):
        body = as_admin("POST", f"/{policy_id}/audit")
        assert body["sync_policy"]["targets_state"], body
        return body["sync_policy"]["targets_state"][0]

    def access():
        return sorted(a["tenant_id"] for a in r2.compute.get_flavor_access(flavor.id))

    def drift():
        r2.compute.flavor_add_tenant_access(flavor.id, other)
        r2.compute.flavor_remove_tenant_access(flavor.id, fresh_project.id)

    try:
        enforce = policy("enforce")
        first = audit(enforce)
        assert first["state"] == "in_sync"
        assert not r2.compute.get_flavor(flavor.id).is_public
        assert access() == [fresh_project.id]

        drift()
        state = audit(enforce)
        # repaired after the drift: by this audit (its detail says so) or, when Nova's
        # flavor notification woke a pass first, by that pass (a newer repaired_at)
        assert state["state"] == "in_sync" and state["repaired_at"], state
        assert state["repaired_at"] != first["repaired_at"], (first, state)
        if state["detail"]:
            assert state["detail"][0]["state"] == "repaired", state
        assert access() == [fresh_project.id]
        assert r2.compute.get_flavor(flavor.id).id == flavor.id     # repaired in place
        assert audit(enforce)["detail"] == []                       # converged
        as_admin("DELETE", f"/{enforce}")

        observe = policy("observe")
        assert audit(observe)["state"] == "in_sync"                 # identical: adopted
        drift()
        state = audit(observe)
        assert state["state"] == "drifted", state
        detail = state["detail"][0]["detail"]
        assert f"projects missing: {fresh_project.id}" in detail, detail
        assert f"projects not in the source: {other}" in detail, detail
        assert access() == [other]                                  # observe: no write
    finally:
        for conn in (r1, r2):
            for found in conn.compute.flavors(is_public=None):
                if found.name == name:
                    conn.compute.delete_flavor(found.id, ignore_missing=True)
