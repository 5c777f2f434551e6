"""Issue 18 in the devcloud: two Keystones on one database, a key agent beside each, RegionTwo's
services on `auth_type = multisite_failover` (local Keystone first, RegionOne's next).

* RegionTwo's Keystone stopped: `openstack server list --os-region-name RegionTwo` still works,
  its Nova validating through RegionOne's Keystone; back: validation returns to the local one
  (counted in each Keystone's access log).
* A Keystone whose keys are rotated alone issues tokens the other rejects; after a Multisite
  rotation (engine + key agents) both validate each other's tokens, and the real
  OpenStack CLI works in RegionTwo with a token issued by RegionOne's Keystone.
* The identity audit: a node whose repository drifts is reported in /v2/identity/nodes and in
  the event feed, and repaired.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import signal
import subprocess
import time
import uuid

import pytest
import requests
import webob

from multisite.clients import identity as identity_client
from multisite.devcloud import keyagents
from multisite.devcloud import layout as L
from multisite.devcloud import services as S
from multisite.engine import identity, manager
from multisite.keyagent import repository
from multisite.objects import key_rotations
from tests.polling import wait_for

pytestmark = pytest.mark.integration

ADMIN = {"username": L.ADMIN_USER, "password": L.ADMIN_PASSWORD,
         "project_name": L.ADMIN_PROJECT, "domain_name": L.DOMAIN}
CREDENTIAL_TYPE = "multisite-test"
API_HEADERS = {"X-Project-Id": "5f0b8e2c1a4d4c3e9b7a0d2f6e8a1b3c", "X-User-Id": "a",
               "X-Roles": "admin"}


class Cloud:
    def __init__(self, devcloud):
        self.devcloud = devcloud
        self.layout = L.Layout(devcloud.base)
        self.services = {s.name: s for s in S.known_services(self.layout)}
        self.ks1, self.ks2 = self.services["keystone"], self.services["keystone2"]

    def urls(self):
        return {"ks1": L.keystone_url(self.layout.port_offset, 1),
                "ks2": L.keystone_url(self.layout.port_offset, 2)}

    def openstack(self, region, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_CLIENT_CONFIG_FILE"] = str(self.layout.clouds_yaml)
        return subprocess.run(
            [self.layout.bin("openstack"), "--os-cloud", "devcloud-admin",
             "--os-region-name", region, *args], capture_output=True, text=True, env=env,
            timeout=180)

    @staticmethod
    def validations(keystone) -> int:
        """Token validations (GET /v3/auth/tokens) this Keystone answered so far."""
        try:
            lines = keystone.access_log.read_text().splitlines()
        except OSError:
            return 0
        return sum(1 for line in lines if '"GET /v3/auth/tokens' in line)

    def fernet_repository(self, keystone):
        return repository.read(str(keystone.dir / "fernet-keys"))

    def rotate_alone(self, keystone):
        """What an operator does without Multisite: `keystone-manage fernet_rotate` on one."""
        subprocess.run([self.layout.bin("keystone-manage"), "--config-file",
                        str(keystone.conf_files[0]), "fernet_rotate",
                        "--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
                        "--keystone-group", grp.getgrgid(os.getgid()).gr_name],
                       check=True, capture_output=True, env=S._child_env())

    @contextlib.contextmanager
    def stopped(self, svc):
        """``svc`` killed (SIGKILL) for the block, then started again and answering."""
        pids = svc.processes()
        assert pids, f"{svc.name} is not running"
        svc.signal(signal.SIGKILL)
        wait_for(lambda: not any(os.path.exists(f"/proc/{p}") and _alive(p) for p in pids),
                 timeout=30, what=f"{svc.name} to die")
        try:
            yield
        finally:
            svc.start()
            svc.wait_ready(time.monotonic() + 120)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def cloud(devcloud_keystones):
    return Cloud(devcloud_keystones)


@pytest.fixture
def identity_conf(db, cloud):
    files = keyagents.client_files(cloud.layout)
    values = {"node": keyagents.node_options(cloud.layout, 2),
              "agent_cert_file": files["cert_file"], "agent_key_file": files["key_file"],
              "agent_ca_file": files["ca_file"], "verify_username": L.ADMIN_USER,
              "verify_password": L.ADMIN_PASSWORD, "verify_project_name": L.ADMIN_PROJECT,
              "max_active_keys": 3, "retry_delay": 0.5, "agent_timeout": 5.0,
              "verify_timeout": 60.0, "scan_interval": 0.2, "lease": 30, "audit_interval": 1,
              "fernet_rotation_interval": 0}
    for name, value in values.items():
        db.set_override(name, value, group="identity")
    return db


@pytest.fixture
def engine(identity_conf):
    running = manager.Manager(identity_conf, engine_id="identity-devcloud-test")
    for kind in identity.KINDS:
        running.add(kind)
    running.start()
    yield running
    running.stop()


def _api(conf, path):
    from multisite.api import app as api_app

    resp = webob.Request.blank(path, headers=API_HEADERS).get_response(api_app.build_app(conf))
    assert resp.status_int == 200, resp.body
    return json.loads(resp.body)


def _rotate(conf, repository="fernet"):
    rotation = key_rotations.create(conf, reason="test", repository=repository)

    def finished():
        found = key_rotations.get(conf, rotation["id"])
        return found if found["status"] in ("done", "failed") else None

    try:
        return wait_for(finished, timeout=240, what="the key rotation to finish")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {key_rotations.get(conf, rotation['id'])}") from None


def _token(url):
    return identity_client.issue_token(url, timeout=90, **ADMIN)


def _validates(url, token):
    return identity_client.validate_token(url, token, timeout=90)


def test_regiontwo_keeps_validating_tokens_while_its_keystone_is_down(cloud):
    nova2 = cloud.services["r2-nova"]
    assert "auth_type = multisite_failover" in (nova2.dir / "nova.conf").read_text()

    # healthy: RegionTwo's Nova validates at its local Keystone
    local_before, remote_before = cloud.validations(cloud.ks2), cloud.validations(cloud.ks1)
    listed = cloud.openstack("RegionTwo", "server", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert cloud.validations(cloud.ks2) > local_before
    assert cloud.validations(cloud.ks1) == remote_before

    with cloud.stopped(cloud.ks2):
        # (the CLI authenticates at RegionOne's Keystone; RegionTwo's is its Nova's)
        remote_before = cloud.validations(cloud.ks1)
        listed = cloud.openstack("RegionTwo", "server", "list", "-f", "json")
        assert listed.returncode == 0, listed.stderr
        assert isinstance(json.loads(listed.stdout), list)
        assert cloud.validations(cloud.ks1) > remote_before
        assert "Keystone marked down" in nova2.log_file.read_text()
        # a Keystone marked down is skipped: the next requests go straight to RegionOne's
        listed = cloud.openstack("RegionTwo", "volume", "list")
        assert listed.returncode == 0, listed.stderr

    # back: after failover_retry_after one request tries the local Keystone again, and the
    # traffic stays there
    local_before = cloud.validations(cloud.ks2)

    def back_home():
        listed = cloud.openstack("RegionTwo", "server", "list", "-f", "json")
        assert listed.returncode == 0, listed.stderr
        return cloud.validations(cloud.ks2) > local_before

    wait_for(back_home, timeout=120, what="RegionTwo's validations to return to its Keystone")
    remote_before = cloud.validations(cloud.ks1)
    listed = cloud.openstack("RegionTwo", "server", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert cloud.validations(cloud.ks1) == remote_before


def test_a_multisite_rotation_makes_both_keystones_validate_each_others_tokens(
        cloud, identity_conf, engine):
    urls = cloud.urls()
    # prove the test real: a Keystone rotated alone issues tokens the other cannot read (twice:
    # after one rotation its primary is the staged key 0 that both still share)
    cloud.rotate_alone(cloud.ks1)
    cloud.rotate_alone(cloud.ks1)
    assert cloud.fernet_repository(cloud.ks1) != cloud.fernet_repository(cloud.ks2)
    early = _token(urls["ks1"])
    assert _validates(urls["ks1"], early) == 200
    assert _validates(urls["ks2"], early) == 401

    rotation = _rotate(identity_conf)
    assert rotation["status"] == "done", rotation
    assert rotation["verification"] == {"ks1->ks1": 200, "ks1->ks2": 200,
                                        "ks2->ks1": 200, "ks2->ks2": 200}
    assert cloud.fernet_repository(cloud.ks1) == cloud.fernet_repository(cloud.ks2)
    assert repository.digest(cloud.fernet_repository(cloud.ks2)) == rotation["final_hash"]
    assert _validates(urls["ks2"], early) == 200  # the reference's token: valid on both
    tokens = {name: _token(url) for name, url in urls.items()}
    assert {f"{a}->{b}": _validates(urls[b], t) for a, t in tokens.items() for b in urls} == {
        "ks1->ks1": 200, "ks1->ks2": 200, "ks2->ks1": 200, "ks2->ks2": 200}

    # the real CLI: a token of RegionOne's Keystone, validated by RegionTwo's one
    local_before = cloud.validations(cloud.ks2)
    listed = cloud.openstack("RegionTwo", "server", "list")
    assert listed.returncode == 0, listed.stderr
    assert cloud.validations(cloud.ks2) > local_before

    nodes = {n["name"]: n for n in _api(identity_conf, "/v2/identity/nodes")["nodes"]}
    assert {n["fernet_hash"] for n in nodes.values()} == {rotation["final_hash"]}
    assert all(n["last_rotation"]["id"] == rotation["id"] for n in nodes.values())


def test_a_node_whose_keys_drift_is_reported_and_repaired(cloud, identity_conf, engine):
    urls = cloud.urls()
    rotation = _rotate(identity_conf)
    assert rotation["status"] == "done", rotation
    expected = rotation["final_hash"]

    nodes = {n["name"]: n for n in _api(identity_conf, "/v2/identity/nodes")["nodes"]}
    assert nodes["ks2"]["last_drift"]["hash"] is None
    # RegionTwo's repository drifts (the audit, every second, may repair it at once: what it
    # saw is in the node's last_drift and in the event)
    cloud.rotate_alone(cloud.ks2)

    def reported():
        nodes = {n["name"]: n for n in _api(identity_conf, "/v2/identity/nodes")["nodes"]}
        drift = nodes["ks2"]["last_drift"]
        return nodes if drift["hash"] and drift["repaired"] \
            and nodes["ks2"]["fernet_hash"] == expected else None

    nodes = wait_for(reported, timeout=60, what="the audit to report and repair ks2")
    drifted = nodes["ks2"]["last_drift"]["hash"]
    assert drifted != expected and nodes["ks2"]["last_drift"]["at"]
    assert nodes["ks1"]["last_drift"]["hash"] is None
    wait_for(lambda: repository.digest(cloud.fernet_repository(cloud.ks2)) == expected,
             timeout=30, what="ks2's repository to be the rotation's again")

    found = _api(identity_conf, "/v2/events?all_projects=true&event_type=identity.node.drift")
    events = [e for e in found["events"] if e["resource_id"] == "ks2"]
    assert events and events[0]["region"] == "RegionTwo"
    assert drifted in {e["payload"]["fernet_hash"] for e in events}
    assert events[0]["payload"]["expected"] == expected
    assert events[0]["payload"]["repaired"] is True
    # repaired: tokens of either validate at both again
    tokens = {name: _token(url) for name, url in urls.items()}
    assert all(_validates(urls[b], t) == 200 for t in tokens.values() for b in urls)


def _credentials(url, token, marker):
    """The blobs of this test's credentials as this Keystone decrypts them (a list: never
    Keystone's per-credential cache), or the HTTP status when it cannot."""
    resp = requests.get(f"{url}/credentials?type={CREDENTIAL_TYPE}",
                        headers={"X-Auth-Token": token}, timeout=90)
    if resp.status_code != 200:
        return resp.status_code
    return [c["blob"] for c in resp.json()["credentials"] if c["blob"] == marker]


def test_credential_keys_rotate_and_stored_credentials_stay_readable(cloud, identity_conf,
                                                                     engine):
    urls = cloud.urls()
    token = _token(urls["ks1"])
    user = requests.get(f"{urls['ks1']}/auth/tokens", timeout=90, headers={
        "X-Auth-Token": token, "X-Subject-Token": token}).json()["token"]["user"]["id"]
    marker = f"multisite-test-{uuid.uuid4().hex}"
    resp = requests.post(f"{urls['ks1']}/credentials", timeout=90,
                         headers={"X-Auth-Token": token},
                         json={"credential": {"type": CREDENTIAL_TYPE, "blob": marker,
                                              "user_id": user}})
    assert resp.status_code == 201, resp.text
    credential_id = resp.json()["credential"]["id"]
    written_under = repository.read(str(cloud.ks1.dir / "credential-keys"))
    written_under = written_under[max(written_under)]  # the primary that encrypted it
    try:
        hashes = set()
        # Keystone keeps 3 credential keys: after the second rotation the key that encrypted
        # the credential is gone; it stays readable only because each rotation re-encrypted
        # every credential (credential_migrate through the agent) under the new primary
        for n in range(2):
            before = repository.digest(repository.read(str(cloud.ks1.dir / "credential-keys")))
            rotation = _rotate(identity_conf, repository="credential")
            assert rotation["status"] == "done", (n, rotation)
            assert rotation["repository"] == "credential"
            assert rotation["verification"] == {"credentials@ks1": 200, "credentials@ks2": 200}
            for ks in (cloud.ks1, cloud.ks2):
                got = repository.read(str(ks.dir / "credential-keys"))
                assert repository.digest(got) == rotation["final_hash"] != before
                assert len(got) == 3
            hashes.add(rotation["final_hash"])
            token = _token(urls["ks1"])
            for url in urls.values():
                assert _credentials(url, token, marker) == [marker], (n, url)
        assert len(hashes) == 2
        for ks in (cloud.ks1, cloud.ks2):  # the key it was written under is gone everywhere
            assert written_under not in repository.read(str(ks.dir / "credential-keys")).values()
        # the Fernet keys were not touched by credential rotations
        assert _validates(urls["ks2"], _token(urls["ks1"])) == 200
    finally:
        requests.delete(f"{urls['ks1']}/credentials/{credential_id}", timeout=90,
                        headers={"X-Auth-Token": _token(urls["ks1"])})
