"""Keypairs through the gateway (kept in the home pod, copied to a server's pod by the
keypair sync on demand) and volume attach within one pod, against fake Nova and Cinder
pods over HTTP. The keypair sync's rows are run here by the real keypair reconciler
(`reconcilers.keypair.apply`), claimed and finished through the sync jobs' own queue, with
the fake pods as its regions: what an engine does."""

import threading
import uuid

import pytest

from multisite.clients import session as region_errors
from multisite.objects import routings, sync_jobs
from multisite.reconcilers import keypair
from tests.functional.gateway import test_cinder_gateway as cinder_tests
from tests.functional.gateway import test_nova_gateway as nova_tests

PROJECT, call, volume = cinder_tests.PROJECT, cinder_tests.call, cinder_tests.volume
cloud, gateway = cinder_tests.cloud, cinder_tests.gateway   # the fixtures

USER = f"token-of-{PROJECT}"   # the fake Novas know a user by the token


class PodCompute:
    """A fake pod's Nova as the keypair reconciler sees a region (service credentials)."""

    def __init__(self, pod, nova):
        self.pod, self.nova = pod, nova

    def get_keypair(self, name, *, user_id):
        if (user_id, name) not in self.nova.keypairs:
            raise region_errors.NotFound(self.pod, f"keypair {name}")
        return dict(self.nova.keypairs[user_id, name])

    def create_keypair(self, *, name, public_key, key_type, user_id):
        if (user_id, name) in self.nova.keypairs:
            raise region_errors.Conflict(self.pod, f"keypair {name}")
        self.nova.keypairs[user_id, name] = {"name": name, "public_key": public_key,
                                             "type": key_type}

    def delete_keypair(self, name, *, user_id):
        self.nova.keypairs.pop((user_id, name), None)


class Regions:
    def __init__(self, cloud):
        self.cloud = cloud

    def compute(self, pod):
        return PodCompute(pod, self.cloud[pod, "compute"])


@pytest.fixture
def engine(db, cloud):
    """Claims the sync rows and runs the keypair reconciler on them, until stopped."""
    stop, ran = threading.Event(), []

    def run():
        while not stop.is_set():
            for item in sync_jobs.claim(db, engine_id="test-engine", lease=30, limit=10,
                                        max_attempts=3):
                try:
                    keypair.apply(item, Regions(cloud))
                    status, error = sync_jobs.SUCCESS, None
                except Exception as exc:  # noqa: BLE001 - the row's error, as the engine
                    status, error = sync_jobs.FAILURE, str(exc)
                sync_jobs.finish(db, item=item, engine_id="test-engine", status=status,
                                 error=error)
                ran.append((item["source_region"], item["target_region"], item["resource"]))
            stop.wait(0.1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield ran
    stop.set()
    thread.join(timeout=10)


def _compute(app, method, path, body):
    return nova_tests.call(app, method, path, body, project=PROJECT)


def boot(app, zone, key_name=None):
    spec = {"name": f"vm-{zone}", "imageRef": "i", "flavorRef": "f1",
            "availability_zone": zone}
    if key_name:
        spec["key_name"] = key_name
    return call(app, "POST", "/servers", {"server": spec})


def test_keypairs_live_in_the_home_pod_and_follow_a_boot(gateway, cloud, engine, db):
    resp, body = _compute(gateway, "POST", "/os-keypairs",
                          {"keypair": {"name": "k1", "public_key": "ssh-ed25519 AAAA k1"}})
    assert resp.status_int == 200, body
    home, other = cloud["RegionTwo", "compute"], cloud["RegionThree", "compute"]
    assert (USER, "k1") in home.keypairs and not other.keypairs
    resp, body = _compute(gateway, "GET", "/os-keypairs", None)
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["k1"]
    resp, body = _compute(gateway, "GET", "/os-keypairs/k1", None)
    assert resp.status_int == 200 and body["keypair"]["public_key"] == "ssh-ed25519 AAAA k1"
    # a boot in the home pod needs no copy; one in az2 has the sync copy it first
    resp, body = boot(gateway, "az1", "k1")
    assert resp.status_int == 202, body
    assert engine == []
    resp, body = boot(gateway, "az2", "k1")
    assert resp.status_int == 202, body
    assert other.keypairs[USER, "k1"]["public_key"] == "ssh-ed25519 AAAA k1"
    assert engine == [("RegionTwo", "RegionThree", "k1")]
    # a second boot finds the copy equal: no second job
    resp, _ = boot(gateway, "az2", "k1")
    assert resp.status_int == 202 and len(engine) == 1
    # the home's key changed (deleted and made again): the next boot replaces the copy
    _compute(gateway, "DELETE", "/os-keypairs/k1", None)
    assert (USER, "k1") not in home.keypairs
    _compute(gateway, "POST", "/os-keypairs",
             {"keypair": {"name": "k1", "public_key": "ssh-ed25519 BBBB k1"}})
    resp, _ = boot(gateway, "az2", "k1")
    assert resp.status_int == 202
    assert other.keypairs[USER, "k1"]["public_key"] == "ssh-ed25519 BBBB k1"


def test_a_boot_with_an_unknown_keypair_is_a_400(gateway, cloud, engine, db):
    resp, body = boot(gateway, "az2", "nope")
    assert resp.status_int == 400 and "nope" in body["badRequest"]["message"]
    assert engine == [] and routings.list_routings(db)[0] == []


def test_volume_attach_within_one_pod_only(gateway, cloud):
    server = boot(gateway, "az1")[1]["server"]["id"]
    near = volume(gateway, "near", "az1")[1]["volume"]["id"]
    far = volume(gateway, "far", "az2")[1]["volume"]["id"]
    resp, body = call(gateway, "POST", f"/servers/{server}/os-volume_attachments",
                      {"volumeAttachment": {"volumeId": near}})
    assert resp.status_int == 200, body
    assert cloud["RegionTwo", "compute"].servers[server]["volumes"] == [near]
    resp, body = call(gateway, "POST", f"/servers/{server}/os-volume_attachments",
                      {"volumeAttachment": {"volumeId": far}})
    assert resp.status_int == 400
    message = body["badRequest"]["message"]
    assert "RegionThree" in message and "RegionTwo" in message and "one pod" in message
    resp, body = call(gateway, "POST", f"/servers/{server}/os-volume_attachments",
                      {"volumeAttachment": {"volumeId": str(uuid.uuid4())}})
    assert resp.status_int == 404
    assert cloud["RegionTwo", "compute"].servers[server]["volumes"] == [near]
