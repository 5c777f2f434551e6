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


def test_backups_go_to_their_volumes_pod_tagged_at_3_43(gateway, cloud, db):
    v = volume(gateway, "v", "az2")[1]["volume"]["id"]
    resp, body = call(gateway, "POST", "/backups", {"backup": {"volume_id": v, "name": "b"}})
    assert resp.status_int == 202, body
    backup = body["backup"]["id"]
    cinder = cloud["RegionThree", "volumev3"]
    (routing,) = routings.find(db, top_id=backup, resource_type="backup")
    assert routing["bottom_id"] == backup and routing["project_id"] == PROJECT
    # the caller asked for no microversion: the create went at 3.43, tagged
    assert cinder.items["backups"][backup]["metadata"] == {
        "multisite_routing": str(routing["id"])}
    assert cinder.created[-1] == ("backup", "volume 3.43")
    assert body["backup"]["links"][0]["href"] == \
        f"http://localhost/volume/v3/{PROJECT}/backups/{backup}"
    # a zone other than the volume's is a 400, an unknown volume Cinder's 404
    resp, body = call(gateway, "POST", "/backups", {"backup": {
        "volume_id": v, "availability_zone": "az1"}})
    assert resp.status_int == 400 and "az2" in body["badRequest"]["message"]
    resp, _ = call(gateway, "POST", "/backups", {"backup": {"volume_id": "nope"}})
    assert resp.status_int == 404
    resp, _ = call(gateway, "POST", "/backups", {"backup": {"name": "no volume"}})
    assert resp.status_int == 400
    # listed, shown; not another project's
    resp, body = call(gateway, "GET", "/backups/detail")
    assert [b["id"] for b in body["backups"]] == [backup]
    resp, body = call(gateway, "GET", "/backups")
    assert body["backups"] == [{"id": backup, "name": "b", "links": body["backups"][0][
        "links"]}]
    resp, body = call(gateway, "GET", f"/backups/{backup}")
    assert resp.status_int == 200 and body["backup"]["volume_id"] == v
    resp, _ = call(gateway, "GET", f"/backups/{backup}", project=uuid.uuid4().hex)
    assert resp.status_int == 404
    # restore into a volume of the same pod; one of another pod is a 400 naming both
    target = volume(gateway, "t", "az2")[1]["volume"]["id"]
    resp, body = call(gateway, "POST", f"/backups/{backup}/restore",
                      {"restore": {"volume_id": target}})
    assert resp.status_int == 202, body
    assert cinder.restored == [(backup, target)]
    elsewhere = volume(gateway, "e", "az1")[1]["volume"]["id"]
    resp, body = call(gateway, "POST", f"/backups/{backup}/restore",
                      {"restore": {"volume_id": elsewhere}})
    assert resp.status_int == 400
    message = body["badRequest"]["message"]
    assert "RegionTwo" in message and "RegionThree" in message and "one pod" in message
    # to a new volume: 501 naming the way round it; a volume from the backup (3.47) is
    # made in the backup's pod
    resp, body = call(gateway, "POST", f"/backups/{backup}/restore", {"restore": {}})
    assert resp.status_int == 501 and "az2" in body["notImplemented"]["message"]
    resp, body = call(gateway, "POST", "/volumes", {"volume": {"size": 1,
                                                               "backup_id": backup}})
    assert resp.status_int == 202, body
    assert cinder.items["volumes"][body["volume"]["id"]]["backup_id"] == backup
    resp, _ = call(gateway, "DELETE", f"/backups/{backup}")
    assert resp.status_int == 202 and backup not in cinder.items["backups"]
    resp, _ = call(gateway, "GET", f"/backups/{backup}")
    assert resp.status_int == 404
    assert routings.find(db, top_id=backup, resource_type="backup") == []
    assert routings.incomplete(db) == []


def test_a_backup_create_keeps_a_newer_microversion(gateway, cloud):
    v = volume(gateway, "v", "az1")[1]["volume"]["id"]
    req_headers = {"OpenStack-API-Version": "volume 3.60"}
    req = webob.Request.blank(f"/volume/v3/{PROJECT}/backups", method="POST", headers={
        "X-Project-Id": PROJECT, "X-Roles": "member", "X-Auth-Token": f"token-of-{PROJECT}",
        **req_headers})
    req.body = json.dumps({"backup": {"volume_id": v}}).encode()
    req.content_type = "application/json"
    assert req.get_response(gateway).status_int == 202
    cinder = cloud["RegionTwo", "volumev3"]
    (backup,) = cinder.items["backups"].values()
    assert "multisite_routing" in backup["metadata"]
    assert cinder.created[-1] == ("backup", "volume 3.60")


@pytest.mark.parametrize("collection", ["os-volume-transfer", "volume-transfers"])
def test_a_transfer_moves_the_volume_and_its_snapshots_to_the_receiver(gateway, cloud, db,
                                                                       collection):
    v = volume(gateway, "v", "az2")[1]["volume"]["id"]
    snap = call(gateway, "POST", "/snapshots", {"snapshot": {"volume_id": v}})[1][
        "snapshot"]["id"]
    resp, body = call(gateway, "POST", f"/{collection}", {"transfer": {"volume_id": v,
                                                                      "name": "gift"}})
    assert resp.status_int == 202, body
    transfer, key = body["transfer"]["id"], body["transfer"]["auth_key"]
    (routing,) = routings.find(db, top_id=transfer, resource_type="transfer")
    assert pods.get(db, routing["pod_id"])["pod_name"] == "RegionThree"
    resp, body = call(gateway, "GET", f"/{collection}")
    assert [(t["id"], t["volume_id"]) for t in body["transfers"]] == [(transfer, v)]
    resp, body = call(gateway, "GET", f"/{collection}/{transfer}")
    assert resp.status_int == 200 and body["transfer"]["name"] == "gift"
    # the receiver: a project with no binding and no routing before; a wrong key is the
    # pod's 400 and changes nothing
    receiver = uuid.uuid4().hex
    resp, _ = call(gateway, "POST", f"/{collection}/{transfer}/accept",
                   {"accept": {"auth_key": "wrong"}}, project=receiver)
    assert resp.status_int == 400
    assert routings.find(db, top_id=v, resource_type="volume")[0]["project_id"] == PROJECT
    resp, body = call(gateway, "POST", f"/{collection}/{transfer}/accept",
                      {"accept": {"auth_key": key}}, project=receiver)
    assert resp.status_int == 202, body
    assert routings.find(db, top_id=transfer, resource_type="transfer") == []
    for item, kind in ((v, "volume"), (snap, "snapshot")):
        assert routings.find(db, top_id=item, resource_type=kind)[0]["project_id"] == \
            receiver
    resp, body = call(gateway, "GET", "/volumes/detail", project=receiver)
    assert [x["id"] for x in body["volumes"]] == [v]
    resp, body = call(gateway, "GET", f"/snapshots/{snap}", project=receiver)
    assert resp.status_int == 200
    resp, _ = call(gateway, "GET", f"/volumes/{v}")
    assert resp.status_int == 404   # the giver's no more
    # a transfer deleted through the gateway takes its routing with it
    transfer = call(gateway, "POST", f"/{collection}", {"transfer": {"volume_id": v}},
                    project=receiver)[1]["transfer"]["id"]
    resp, _ = call(gateway, "DELETE", f"/{collection}/{transfer}", project=receiver)
    assert resp.status_int == 202
    assert routings.find(db, top_id=transfer, resource_type="transfer") == []
    resp, _ = call(gateway, "POST", f"/{collection}/{transfer}/accept",
                   {"accept": {"auth_key": "x"}})
    assert resp.status_int == 404
    assert routings.incomplete(db) == []


def test_volume_metadata_is_routed(gateway, cloud):
    v = volume(gateway, "v", "az1")[1]["volume"]["id"]
    resp, body = call(gateway, "POST", f"/volumes/{v}/metadata", {"metadata": {"k": "x"}})
    assert resp.status_int == 200, body
    assert cloud["RegionTwo", "volumev3"].items["volumes"][v]["metadata"]["k"] == "x"


def test_what_is_not_routed_is_a_501_naming_it(gateway):
    for method, path in (("GET", "/groups"), ("POST", "/groups"),
                         ("GET", "/group_snapshots/detail")):
        resp, body = call(gateway, method, path, {} if method == "POST" else None)
        assert resp.status_int == 501, path
        message = body["notImplemented"]["message"]
        assert "volume groups" in message and "one pod" in message and path in message
    resp, body = call(gateway, "POST", "/backups/import_record", {})
    assert resp.status_int == 501 and "backup records" in body["notImplemented"]["message"]
    resp, body = call(gateway, "GET", "/attachments")
    assert resp.status_int == 501
    assert f"GET /{PROJECT}/attachments" in body["notImplemented"]["message"]
    assert "Cinder" in body["notImplemented"]["message"]
