"""multisite-gateway's block-storage proxy against two pods over real HTTP (fake Nova and
Cinder per pod): zones, types, a volume create bound to a pod (the server's binding) with
the routing written first, merged lists with limit/marker, show/extend/delete, snapshots
in their volume's pod, a pod down."""

import json
import uuid

import pytest
import webob

from multisite.clients import gateway as pod_client
from multisite.gateway import app as gateway_app
from multisite.objects import pods, routings
from tests.functional.gateway import test_nova_gateway as nova_tests
from tests.functional.gateway.fake_cinder import FakeCinder
from tests.functional.gateway.fake_nova import FakeNova

PROJECT = uuid.uuid4().hex
PODS = ("RegionTwo", "RegionThree")


@pytest.fixture
def cloud(db, monkeypatch):
    services = {(pod, "compute"): FakeNova(pod) for pod in PODS}
    services.update({(pod, "volumev3"): FakeCinder(pod) for pod in PODS})
    monkeypatch.setattr(pod_client.Forwarder, "endpoint", nova_tests.no_glance(
        lambda pod, service_type: services[pod, service_type].url))
    nova_tests.register_pods(db)
    yield services
    for service in services.values():
        service.stop()


@pytest.fixture
def gateway(db, cloud):
    return gateway_app.build_app(db)


def call(app, method, path, body=None, *, project=PROJECT, roles="member"):
    """A call of the gateway: /servers... to its compute, the rest to its block storage."""
    prefix = "/compute/v2.1" if path.startswith("/servers") else f"/volume/v3/{project}"
    return nova_tests.call(app, method, path, body, project=project, roles=roles,
                           prefix=prefix)


def volume(app, name, zone=None, **kw):
    spec = {"name": name, "size": 1}
    if zone:
        spec["availability_zone"] = zone
    return call(app, "POST", "/volumes", {"volume": spec}, **kw)


def test_zones_types_and_version(gateway):
    resp, body = call(gateway, "GET", "/os-availability-zone")
    assert resp.status_int == 200
    assert [z["zoneName"] for z in body["availabilityZoneInfo"]] == ["az1", "az2"]
    resp, body = call(gateway, "GET", "/types")
    assert resp.status_int == 200 and body["volume_types"][0]["name"] == "__DEFAULT__"
    req = webob.Request.blank("/volume/v3/", headers={"X-Project-Id": PROJECT})
    resp = req.get_response(gateway)
    assert resp.status_int == 200
    assert json.loads(resp.body)["versions"][0]["links"][0]["href"] == \
        "http://localhost/volume/v3/"


def test_create_binds_like_a_server_and_routes_the_volume(gateway, cloud, db):
    resp, body = volume(gateway, "v1", "az2")
    assert resp.status_int == 202, body
    v1 = body["volume"]["id"]
    cinder = cloud["RegionThree", "volumev3"]
    assert v1 in cinder.items["volumes"]
    assert body["volume"]["links"][0]["href"] == \
        f"http://localhost/volume/v3/{PROJECT}/volumes/{v1}"
    (routing,) = routings.find(db, top_id=v1, resource_type="volume")
    assert routing["bottom_id"] == v1 and routing["project_id"] == PROJECT
    sent = cinder.items["volumes"][v1]
    assert sent["metadata"] == {"multisite_routing": str(routing["id"])}
    assert sent["availability_zone"] == "nova"  # the pod's own storage zone
    assert sent["tenant"] == f"token-of-{PROJECT}"
    # the project's servers of az2 go to the same pod (one binding per AZ)
    resp, body = call(gateway, "POST", "/servers", {"server": {
        "name": "vm", "imageRef": "i", "flavorRef": "f1", "availability_zone": "az2"}})
    assert body["server"]["id"] in cloud["RegionThree", "compute"].servers
    assert routings.incomplete(db) == []


def test_create_without_a_zone_or_in_an_unknown_one_is_a_400(gateway, db):
    resp, body = volume(gateway, "v", None)
    assert resp.status_int == 400 and "az1, az2" in body["badRequest"]["message"]
    resp, body = volume(gateway, "v", "az9")
    assert resp.status_int == 400 and "az9" in body["badRequest"]["message"]
    resp, body = call(gateway, "POST", "/volumes", {"volume": "big"})
    assert resp.status_int == 400
    spec = {"size": 1, "availability_zone": "az1", "metadata": []}
    resp, body = call(gateway, "POST", "/volumes", {"volume": spec})
    assert resp.status_int == 400 and "metadata" in body["badRequest"]["message"]
    assert routings.list_routings(db)[0] == []


def test_a_null_metadata_is_an_empty_one(gateway, cloud, db):
    """openstacksdk (openstack volume create) sends "metadata": null."""
    resp, body = call(gateway, "POST", "/volumes", {"volume": {
        "size": 1, "availability_zone": "az1", "metadata": None, "name": "v"}})
    assert resp.status_int == 202, body
    (routing,) = routings.find(db, top_id=body["volume"]["id"], resource_type="volume")
    assert cloud["RegionTwo", "volumev3"].items["volumes"][body["volume"]["id"]][
        "metadata"] == {"multisite_routing": str(routing["id"])}


def test_lists_merge_the_pods_newest_first_with_limit_and_marker(gateway):
    made = [volume(gateway, f"v{i}", "az1" if i % 2 else "az2")[1]["volume"]["id"]
            for i in range(5)]
    other = volume(gateway, "not-mine", "az1", project=uuid.uuid4().hex)[1]["volume"]["id"]
    resp, body = call(gateway, "GET", "/volumes/detail")
    assert resp.status_int == 200
    assert [v["id"] for v in body["volumes"]] == made[::-1]
    base = f"http://localhost/volume/v3/{PROJECT}"
    listed = nova_tests.walk(gateway, call, "/volumes?limit=2", "volumes", base)
    assert all(set(v) == {"id", "name", "links"} for v in listed)
    seen = [v["id"] for v in listed]
    assert seen == made[::-1] and other not in seen
    resp, _ = call(gateway, "GET", "/volumes?marker=nope")
    assert resp.status_int == 400


def test_show_extend_delete(gateway, cloud, db):
    v = volume(gateway, "v", "az1")[1]["volume"]["id"]
    resp, body = call(gateway, "GET", f"/volumes/{v}")
    assert resp.status_int == 200 and body["volume"]["name"] == "v"
    resp, _ = call(gateway, "POST", f"/volumes/{v}/action", {"os-extend": {"new_size": 3}})
    assert resp.status_int == 202
    assert cloud["RegionTwo", "volumev3"].items["volumes"][v]["size"] == 3
    resp, body = call(gateway, "GET", f"/volumes/{v}", project=uuid.uuid4().hex)
    assert resp.status_int == 404 and v in body["itemNotFound"]["message"]
    resp, _ = call(gateway, "DELETE", f"/volumes/{v}")
    assert resp.status_int == 202
    assert v not in cloud["RegionTwo", "volumev3"].items["volumes"]
    resp, _ = call(gateway, "GET", f"/volumes/{v}")
    assert resp.status_int == 404
    assert routings.find(db, top_id=v, resource_type="volume") == []


def test_snapshots_go_to_their_volumes_pod(gateway, cloud, db):
    v = volume(gateway, "v", "az2")[1]["volume"]["id"]
    resp, body = call(gateway, "POST", "/snapshots", {"snapshot": {"volume_id": v,
                                                                   "name": "s"}})
    assert resp.status_int == 202, body
    snap = body["snapshot"]["id"]
    assert snap in cloud["RegionThree", "volumev3"].items["snapshots"]
    (routing,) = routings.find(db, top_id=snap, resource_type="snapshot")
    assert pods.get(db, routing["pod_id"])["pod_name"] == "RegionThree"
    resp, body = call(gateway, "GET", "/snapshots/detail")
    assert [s["id"] for s in body["snapshots"]] == [snap]
    resp, body = call(gateway, "GET", f"/snapshots/{snap}")
    assert resp.status_int == 200 and body["snapshot"]["volume_id"] == v
    # a volume from the snapshot is made in the snapshot's pod, whatever the binding
    resp, body = call(gateway, "POST", "/volumes", {"volume": {"size": 1,
                                                               "snapshot_id": snap}})
    assert body["volume"]["id"] in cloud["RegionThree", "volumev3"].items["volumes"]
    resp, body = call(gateway, "POST", "/volumes", {"volume": {
        "size": 1, "snapshot_id": snap, "availability_zone": "az1"}})
    assert resp.status_int == 400 and "az2" in body["badRequest"]["message"]
    resp, _ = call(gateway, "POST", "/snapshots", {"snapshot": {"volume_id": "nope"}})
    assert resp.status_int == 404
    resp, _ = call(gateway, "DELETE", f"/snapshots/{snap}")
    assert resp.status_int == 202
    assert snap not in cloud["RegionThree", "volumev3"].items["snapshots"]


def test_a_pod_down(gateway, cloud, db):
    up = volume(gateway, "up", "az1")[1]["volume"]["id"]
    down = volume(gateway, "down", "az2")[1]["volume"]["id"]
    cloud["RegionThree", "volumev3"].stop()
    resp, body = call(gateway, "GET", f"/volumes/{down}")
    assert resp.status_int == 503
    assert "Pod RegionThree is unavailable" in body["serviceUnavailable"]["message"]
    resp, body = call(gateway, "GET", "/volumes/detail")
    assert resp.status_int == 200
    listed = {v["id"]: v for v in body["volumes"]}
    assert listed[up]["status"] == "available" and listed[down]["status"] == "UNKNOWN"
    # a create in the down pod: 503, the routing written first stays for the reconciler
    resp, body = volume(gateway, "lost", "az2")
    assert resp.status_int == 503
    (pending,) = routings.incomplete(db)
    assert pending["resource_type"] == "volume" and pending["top_id"].startswith("pending-")


def test_what_is_not_routed_is_a_501_naming_it(gateway):
    resp, body = call(gateway, "GET", "/backups")
    assert resp.status_int == 501
    assert f"GET /{PROJECT}/backups" in body["notImplemented"]["message"]
    assert "Cinder" in body["notImplemented"]["message"]
