"""The gateway's lazy image hook (gateway/images.py) against fake Nova, Cinder and Glance
pods over real HTTP: a create naming an image its pod lacks has the copy row of
`POST /v2/images/{id}/ensure` written, waits for it, and goes on with the pod's image id.

The copies are made here by a stand-in engine (a thread that finds the pending copy rows
through objects/images.py and puts the image in the target's fake Glance, as
reconcilers/image_distribution.copy_one would); the real copy runs in
tests/integration/test_gateway_images.py against the devcloud's Glance."""

import json
import threading
import time
import uuid

import pytest
import webob

from multisite.clients import gateway as pod_client
from multisite.gateway import app as gateway_app
from multisite.gateway import images as gateway_images
from multisite.objects import images, routings
from tests.functional.gateway import test_cinder_gateway as cinder_tests
from tests.functional.gateway import test_nova_gateway as nova_tests
from tests.functional.gateway.fake_cinder import FakeCinder
from tests.functional.gateway.fake_nova import FakeNova

PROJECT = cinder_tests.PROJECT
TOKEN = f"token-of-{PROJECT}"
IMG = str(uuid.uuid4())


class FakeGlance(FakeNova):
    """GET /v2/images/{id}: an image the token may see (its owner's, or public)."""

    def __init__(self, name):
        super().__init__(name)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.images = {}

    def route(self, req):
        if req.method == "GET" and req.path_info.startswith("/v2/images/"):
            image = self.images.get(req.path_info[len("/v2/images/"):])
            token = req.headers.get("X-Auth-Token")
            if image is not None and (image["visibility"] == "public"
                                      or f"token-of-{image['owner']}" == token):
                return self._json(image)
            return self._json({"message": "not found"}, 404)
        return self._json({"message": req.path_info}, 404)


def image(image_id=IMG, status="active", owner=PROJECT, visibility="private"):
    return {"id": image_id, "status": status, "owner": owner, "visibility": visibility,
            "checksum": "c0ffee"}


@pytest.fixture
def cloud(db, monkeypatch):
    services = {}
    for pod in cinder_tests.PODS:
        services[pod, "compute"] = FakeNova(pod)
        services[pod, "volumev3"] = FakeCinder(pod)
    for pod in ("RegionOne", *cinder_tests.PODS):
        services[pod, "image"] = FakeGlance(pod)
    monkeypatch.setattr(pod_client.Forwarder, "endpoint",
                        lambda self, pod, service_type: services[pod, service_type].url)
    nova_tests.register_pods(db)
    db.set_override("image_ensure_timeout", 5, group="gateway")
    yield services
    for service in services.values():
        service.stop()


@pytest.fixture
def gateway(db, cloud):
    return gateway_app.build_app(db)


class Engine:
    """Makes the pending copies: the image appears in the target's Glance, the row turns
    active (or failed, for a region in `failing`); `slow` seconds per copy."""

    def __init__(self, db, cloud):
        self.db, self.cloud = db, cloud
        self.made, self.failing, self.slow, self.target_id = [], set(), 0.0, None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            for copy in images.copies_of(self.db):
                if copy["state"] != images.PENDING:
                    continue
                time.sleep(self.slow)
                self.made.append((copy["image_id"], copy["region"]))
                if copy["region"] in self.failing:
                    images.update_copy(self.db, copy["id"], state=images.FAILED,
                                       reason="verification failed: checksum differs")
                    continue
                new_id = self.target_id or copy["image_id"]
                source = self.cloud[copy["source"], "image"].images[copy["image_id"]]
                self.cloud[copy["region"], "image"].images[new_id] = dict(source, id=new_id)
                images.update_copy(self.db, copy["id"], state=images.ACTIVE,
                                   target_id=new_id, checksum=source["checksum"])
            self.stop.wait(0.05)


@pytest.fixture
def engine(db, cloud):
    worker = Engine(db, cloud)
    yield worker
    worker.stop.set()
    worker.thread.join(timeout=10)


def call(app, method, path, body, prefix):
    req = webob.Request.blank(prefix + path, method=method, headers={
        "X-Project-Id": PROJECT, "X-Roles": "member", "X-Auth-Token": TOKEN,
        "X-User-Id": TOKEN})
    req.body = json.dumps(body).encode()
    req.content_type = "application/json"
    resp = req.get_response(app)
    return resp, json.loads(resp.body)


def boot(app, zone, **spec):
    server = {"name": "vm", "flavorRef": "f1", "availability_zone": zone, **spec}
    return call(app, "POST", "/servers", {"server": server}, "/compute/v2.1")


def volume(app, zone, **spec):
    return call(app, "POST", "/volumes", {"volume": {"size": 1, "availability_zone": zone,
                                                     **spec}}, f"/volume/v3/{PROJECT}")


def sent(cloud, pod, service, key):
    posts = [r for r in cloud[pod, service].requests if r[0] == "POST"]
    return [json.loads(r[4])[key] for r in posts]


def test_a_boot_copies_the_missing_image_then_reaches_the_pod(gateway, cloud, engine, db):
    cloud["RegionOne", "image"].images[IMG] = image()
    resp, body = boot(gateway, "az1", imageRef=IMG)
    assert resp.status_int == 202, body
    assert engine.made == [(IMG, "RegionTwo")]
    assert IMG in cloud["RegionTwo", "image"].images
    (copy,) = images.copies_of(db)
    assert (copy["project_id"], copy["source"], copy["origin"]) == (PROJECT, "RegionOne",
                                                                    "lazy")
    assert sent(cloud, "RegionTwo", "compute", "server")[0]["imageRef"] == IMG
    # the next boot finds the image in the pod: no copy, one Glance read
    resp, _ = boot(gateway, "az1", imageRef=IMG)
    assert resp.status_int == 202 and len(engine.made) == 1
    # the other pod is untouched until a boot needs it there
    assert IMG not in cloud["RegionThree", "image"].images


def test_a_volume_from_an_image_and_a_bdm_boot_are_copied_too(gateway, cloud, engine):
    cloud["RegionOne", "image"].images[IMG] = image()
    resp, body = volume(gateway, "az2", imageRef=IMG)
    assert resp.status_int == 202, body
    assert engine.made == [(IMG, "RegionThree")]
    assert sent(cloud, "RegionThree", "volumev3", "volume")[0]["imageRef"] == IMG
    other = str(uuid.uuid4())
    cloud["RegionOne", "image"].images[other] = image(other, visibility="public",
                                                      owner="someone")
    resp, body = boot(gateway, "az1", block_device_mapping_v2=[
        {"source_type": "image", "uuid": other, "destination_type": "volume",
         "volume_size": 1, "boot_index": 0}])
    assert resp.status_int == 202, body
    assert engine.made[1:] == [(other, "RegionTwo")]


def test_the_create_goes_on_with_the_pods_id_of_the_copy(gateway, cloud, engine):
    cloud["RegionOne", "image"].images[IMG] = image()
    engine.target_id = pod_id = str(uuid.uuid4())   # Glance refused the source id there
    resp, body = boot(gateway, "az1", imageRef=IMG, block_device_mapping_v2=[
        {"source_type": "image", "uuid": IMG, "boot_index": 0}])
    assert resp.status_int == 202, body
    server = sent(cloud, "RegionTwo", "compute", "server")[0]
    assert server["imageRef"] == pod_id
    assert server["block_device_mapping_v2"][0]["uuid"] == pod_id
    # a later boot uses the copy's id again without a new copy
    resp, _ = boot(gateway, "az1", imageRef=IMG)
    assert resp.status_int == 202 and len(engine.made) == 1
    assert sent(cloud, "RegionTwo", "compute", "server")[1]["imageRef"] == pod_id


def test_concurrent_boots_make_one_copy(gateway, cloud, engine):
    cloud["RegionOne", "image"].images[IMG] = image()
    engine.slow = 0.5
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(boot(gateway, "az1",
                                                                   imageRef=IMG)[0]))
               for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_int for a in answers] == [202] * 5
    assert engine.made == [(IMG, "RegionTwo")]


def test_a_failed_copy_is_a_503_naming_the_reason_and_no_server(gateway, cloud, engine, db):
    cloud["RegionOne", "image"].images[IMG] = image()
    engine.failing.add("RegionTwo")
    resp, body = boot(gateway, "az1", imageRef=IMG)
    assert resp.status_int == 503
    message = body["serviceUnavailable"]["message"]
    assert "RegionTwo" in message and "checksum differs" in message and IMG in message
    assert sent(cloud, "RegionTwo", "compute", "server") == []
    assert routings.list_routings(db)[0] == []
    # the next create starts the copy again
    engine.failing.clear()
    resp, _ = boot(gateway, "az1", imageRef=IMG)
    assert resp.status_int == 202 and len(engine.made) == 2


def test_a_copy_not_done_in_time_is_a_503_not_a_hang(gateway, cloud, db):
    cloud["RegionOne", "image"].images[IMG] = image()
    db.set_override("image_ensure_timeout", 1, group="gateway")
    started = time.monotonic()
    resp, body = volume(gateway, "az1", imageRef=IMG)    # no engine runs
    assert time.monotonic() - started < 5
    assert resp.status_int == 503
    assert "still being copied" in body["serviceUnavailable"]["message"]
    assert sent(cloud, "RegionTwo", "volumev3", "volume") == []


def test_what_the_hook_leaves_to_the_pod(gateway, cloud, engine, db):
    # an image the caller cannot read in the source: the pod answers (no copy)
    cloud["RegionOne", "image"].images[IMG] = image(owner="someone-else")
    resp, _ = boot(gateway, "az1", imageRef=IMG)
    assert resp.status_int == 202
    assert sent(cloud, "RegionTwo", "compute", "server")[0]["imageRef"] == IMG
    # the project's mode is none: only an explicit os-sync copies
    mine = str(uuid.uuid4())
    cloud["RegionOne", "image"].images[mine] = image(mine)
    images.set_distribution(db, project_id=PROJECT, image_id=None, mode="none",
                            source="RegionOne", targets=None)
    resp, _ = boot(gateway, "az1", imageRef=mine)
    assert resp.status_int == 202
    assert engine.made == [] and images.copies_of(db) == []
    # not active in the source: a 400 before anything is routed
    images.delete_distribution(db, PROJECT, None)
    cloud["RegionOne", "image"].images[mine]["status"] = "queued"
    resp, body = boot(gateway, "az1", imageRef=mine)
    assert resp.status_int == 400 and "queued in RegionOne" in body["badRequest"]["message"]
    assert len(routings.list_routings(db)[0]) == 2     # the two boots above only


def glance_reads(cloud, pod, image_id):
    return [r for r in cloud[pod, "image"].requests
            if r[0] == "GET" and r[1] == f"/v2/images/{image_id}"]


def test_a_burst_of_boots_reads_the_pods_image_once(gateway, cloud, engine, db):
    cloud["RegionTwo", "image"].images[IMG] = image()
    for _ in range(3):
        resp, body = boot(gateway, "az1", imageRef=IMG)
        assert resp.status_int == 202, body
    assert len(glance_reads(cloud, "RegionTwo", IMG)) == 1
    assert engine.made == []
    # another project, or another pod, reads for itself
    cloud["RegionThree", "image"].images[IMG] = image()
    resp, body = boot(gateway, "az2", imageRef=IMG)
    assert resp.status_int == 202, body
    assert len(glance_reads(cloud, "RegionThree", IMG)) == 1
    # with the trust off, every create reads
    db.set_override("image_check_ttl", 0, group="gateway")
    gateway_images._CHECKED.clear()
    for _ in range(2):
        assert boot(gateway, "az1", imageRef=IMG)[0].status_int == 202
    assert len(glance_reads(cloud, "RegionTwo", IMG)) == 3


def test_an_image_gone_from_the_pod_since_it_was_trusted_is_copied_again(
        gateway, cloud, engine, db):
    """The pod lost the image after a boot read it there: the next boot, taken on trust,
    is refused by the pod (as Nova refuses an image it cannot find); the gateway reads
    the image again, copies it, and the boot succeeds: the caller sees one 202."""
    nova = cloud["RegionTwo", "compute"]
    glance = cloud["RegionTwo", "image"]
    plain = nova.route

    def route(req):
        if req.method == "POST" and req.path_info == "/v2.1/servers":
            ref = json.loads(req.body)["server"].get("imageRef")
            if ref and ref not in glance.images:
                return nova._json({"badRequest": {
                    "code": 400, "message": f"Image {ref} could not be found."}}, 400)
        return plain(req)

    nova.route = route
    cloud["RegionOne", "image"].images[IMG] = image()
    assert boot(gateway, "az1", imageRef=IMG)[0].status_int == 202    # copied
    assert boot(gateway, "az1", imageRef=IMG)[0].status_int == 202    # read: trusted
    assert engine.made == [(IMG, "RegionTwo")]
    del glance.images[IMG]                           # deleted in the pod meanwhile
    resp, body = boot(gateway, "az1", imageRef=IMG)
    assert resp.status_int == 202, body
    assert engine.made == [(IMG, "RegionTwo")] * 2
    assert IMG in glance.images
    posts = [r for r in nova.requests if r[0] == "POST"]
    assert len(posts) == 4                           # two creates, a refused one, the retry
    # no routing is left of the refused create: the three servers only
    servers, _ = routings.list_routings(db, filters={"resource_type": "server"})
    assert len(servers) == 3
