"""multisite-gateway's network proxy and the lazy bottom networks of a server boot, against
a top Neutron and two pods over real HTTP (fake Neutrons and Novas): hints kept as tags,
one IPAM (the top's), bottom ports with the top ports' IPs and MACs, routings, deletes."""

import json
import uuid

import pytest
import webob
from keystoneauth1 import session as ks_session

from multisite.clients import gateway as pod_client
from multisite.clients import gateway_network
from multisite.engine import controller
from multisite.gateway import app as gateway_app
from multisite.gateway import bottom, faults, neutron
from multisite.objects import pods, routings
from multisite.reconcilers import Key, gateway_ports
from tests.functional.gateway.fake_neutron import FakeNeutron
from tests.functional.gateway.fake_nova import FakeNova

PROJECT = uuid.uuid4().hex
POD_OF = {"az1": "RegionTwo", "az2": "RegionThree"}


@pytest.fixture
def cloud(db, monkeypatch):
    novas = {r: FakeNova(r) for r in ("RegionTwo", "RegionThree")}
    nets = {r: FakeNeutron(r) for r in ("RegionOne", "RegionTwo", "RegionThree")}
    monkeypatch.setattr(pod_client.Forwarder, "endpoint", lambda self, pod, service_type: (
        novas if service_type == "compute" else nets)[pod].url)
    monkeypatch.setattr(gateway_network.PodNetwork, "_api", lambda self, region: (
        ks_session.Session(), nets[region].url + "/v2.0"))
    pods.create(db, name="RegionOne")
    pods.create(db, name="RegionTwo", az_name="az1")
    pods.create(db, name="RegionThree", az_name="az2")
    top = nets["RegionOne"]
    top.items["security-groups"]["sg-default"] = {
        "id": "sg-default", "name": "default", "project_id": PROJECT, "security_group_rules": [
            {"id": "r1", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
             "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0",
             "remote_group_id": None, "security_group_id": "sg-default"},
            {"id": "r2", "direction": "ingress", "ethertype": "IPv4", "protocol": None,
             "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
             "remote_group_id": "sg-default", "security_group_id": "sg-default"}]}
    yield {"nova": novas, "net": nets}
    for fake in [*novas.values(), *nets.values()]:
        fake.stop()


@pytest.fixture
def gateway(db, cloud):
    return gateway_app.build_app(db)


def call(app, method, path, body=None, *, project=PROJECT):
    req = webob.Request.blank(path, method=method, headers={
        "X-Project-Id": project, "X-Roles": "member", "X-Auth-Token": f"token-of-{project}"})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    resp = req.get_response(app)
    return resp, (json.loads(resp.body) if resp.body else None)


def make_network(app, hints=("az1", "az2"), cidr="10.7.0.0/24"):
    resp, body = call(app, "POST", "/network/v2.0/networks",
                      {"network": {"name": "net", "availability_zone_hints": list(hints)}})
    assert resp.status_int == 201, body
    net = body["network"]
    resp, body = call(app, "POST", "/network/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": cidr, "ip_version": 4}})
    assert resp.status_int == 201, body
    return net, body["subnet"]


def boot(app, zone, networks):
    return call(app, "POST", "/compute/v2.1/servers", {"server": {
        "name": f"vm-{zone}", "imageRef": "img", "flavorRef": "f1",
        "availability_zone": zone, "networks": networks}})


def sent_networks(nova):
    return [json.loads(r[4])["server"]["networks"] for r in nova.requests if r[0] == "POST"]


def test_network_hints_are_the_pods_zones_kept_as_tags(gateway, cloud):
    net, _ = make_network(gateway, hints=["az1"])
    assert net["availability_zone_hints"] == ["az1"]
    stored = cloud["net"]["RegionOne"].items["networks"][net["id"]]
    assert stored["tags"] == ["multisite-az:az1"] and stored["project_id"] == PROJECT
    resp, body = call(gateway, "GET", f"/network/v2.0/networks?id={net['id']}")
    assert resp.status_int == 200 and body["networks"][0]["availability_zone_hints"] == ["az1"]
    resp, body = call(gateway, "POST", "/network/v2.0/networks",
                      {"network": {"name": "x", "availability_zone_hints": ["az9"]}})
    assert resp.status_int == 400 and "az9" in body["badRequest"]["message"]


def test_two_servers_on_one_top_network_get_the_top_ips_and_macs(gateway, cloud, db):
    net, subnet = make_network(gateway)
    made = {}
    for zone in ("az1", "az2", "az1"):
        resp, body = boot(gateway, zone, [{"uuid": net["id"]}])
        assert resp.status_int == 202, body
        made.setdefault(zone, []).append(body["server"]["id"])
    top_ports = cloud["net"]["RegionOne"].of("ports", network_id=net["id"])
    assert len(top_ports) == 3
    addresses = [p["fixed_ips"][0]["ip_address"] for p in top_ports]
    assert len(set(addresses)) == 3          # one IPAM: never the same address twice
    for zone, pod in POD_OF.items():
        bottom = cloud["net"][pod]
        (bnet,) = bottom.of("networks", name=net["id"])
        (bsub,) = bottom.of("subnets", name=subnet["id"])
        assert (bsub["cidr"], bsub["gateway_ip"], bsub["allocation_pools"],
                bsub["network_id"]) == (subnet["cidr"], subnet["gateway_ip"],
                                        subnet["allocation_pools"], bnet["id"])
        ports = bottom.of("ports", network_id=bnet["id"])
        assert len(ports) == len(made[zone])
        for port in ports:
            top = cloud["net"]["RegionOne"].items["ports"][port["name"]]
            assert port["mac_address"] == top["mac_address"]
            assert port["fixed_ips"] == [{"subnet_id": bsub["id"],
                                          "ip_address": top["fixed_ips"][0]["ip_address"]}]
            assert port["project_id"] == PROJECT
            (routing,) = routings.find(db, top_id=top["id"], resource_type="port")
            assert routing["bottom_id"] == port["id"]
            assert pods.get(db, routing["pod_id"])["pod_name"] == pod
        # the pod's Nova got the bottom ports, not the top network
        assert sorted(n[0]["port"] for n in sent_networks(cloud["nova"][pod])) == sorted(
            p["id"] for p in ports)
        # the port's security group, with its rules (the self-reference mapped)
        (group,) = bottom.of("security-groups", name="sg-default")
        assert ports[0]["security_groups"] == [group["id"]]
        ingress = [r for r in group["security_group_rules"] if r["direction"] == "ingress"]
        assert {(r["port_range_min"], r["remote_group_id"]) for r in ingress} == {
            (22, None), (None, group["id"])}
    assert routings.incomplete(db) == []


def test_boot_on_a_top_port_and_port_delete_removes_the_bottom_port(gateway, cloud, db):
    net, _ = make_network(gateway)
    resp, body = call(gateway, "POST", "/network/v2.0/ports", {"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.7.0.50"}]}})
    assert resp.status_int == 201, body
    port = body["port"]
    resp, body = boot(gateway, "az2", [{"port": port["id"]}])
    assert resp.status_int == 202, body
    (bottom,) = cloud["net"]["RegionThree"].of("ports", name=port["id"])
    assert bottom["fixed_ips"][0]["ip_address"] == "10.7.0.50"
    assert bottom["mac_address"] == port["mac_address"]
    assert len(cloud["net"]["RegionOne"].of("ports")) == 1   # no second top port
    resp, _ = call(gateway, "DELETE", f"/network/v2.0/ports/{port['id']}")
    assert resp.status_int == 204
    assert cloud["net"]["RegionThree"].of("ports") == []
    assert routings.find(db, top_id=port["id"], resource_type="port") == []


def test_a_network_not_in_the_zone_is_a_400_and_leaves_no_port(gateway, cloud, db):
    net, _ = make_network(gateway, hints=["az1"])
    resp, body = boot(gateway, "az2", [{"uuid": net["id"]}])
    assert resp.status_int == 400 and "az2" in body["badRequest"]["message"]
    assert cloud["net"]["RegionOne"].of("ports") == []
    assert cloud["nova"]["RegionThree"].servers == {}
    resp, body = boot(gateway, "az1", "auto")
    assert resp.status_int == 400 and "auto" in body["badRequest"]["message"]


def test_an_interrupted_realisation_is_adopted_not_duplicated(gateway, cloud, db,
                                                             monkeypatch):
    """A routing written but never completed (a gateway killed after asking the pod): the
    next boot adopts the bottom network named after the top id."""
    monkeypatch.setattr(neutron, "WAIT_OTHER", 0.5)
    net, _ = make_network(gateway)
    pod = [p for p in pods.list_pods(db) if p["pod_name"] == "RegionTwo"][0]
    routing = routings.create(db, top_id=net["id"], pod_id=pod["pod_id"],
                              project_id=PROJECT, resource_type="network")
    left = cloud["net"]["RegionTwo"]._make_network({"name": net["id"]}, None)
    left["id"] = "left-behind"
    cloud["net"]["RegionTwo"].items["networks"]["left-behind"] = left
    resp, body = boot(gateway, "az1", [{"uuid": net["id"]}])
    assert resp.status_int == 202, body
    assert len(cloud["net"]["RegionTwo"].of("networks")) == 1
    assert routings.get(db, routing["id"])["bottom_id"] == "left-behind"


def test_what_is_not_routed_is_a_501(gateway):
    resp, body = call(gateway, "GET", "/network/v2.0/trunks")
    assert resp.status_int == 501 and "GET /v2.0/trunks" in body["notImplemented"][
        "message"]
    resp, body = call(gateway, "GET", "/network/v2.0/networks")
    assert resp.status_int == 200 and body == {"networks": []}


@pytest.mark.parametrize(("networks", "ok"), [
    (None, True), ("none", True), ([], True), ([{"uuid": "n"}], True), ([{"port": "p"}], True),
    ("auto", False), ("x", False), ([{"fixed_ip": "1.2.3.4"}], False), ([1], False),
    ({"uuid": "n"}, False), ([{"uuid": 3}], False)])
def test_requested_networks(networks, ok):
    if ok:
        assert bottom.requested(networks) == (networks if isinstance(networks, list) else [])
    else:
        with pytest.raises(faults.Fault) as caught:
            bottom.requested(networks)
        assert caught.value.status == 400


def test_port_body_keeps_ip_and_mac_and_maps_ids():
    top = {"id": "tp", "project_id": "p", "mac_address": "fa:16:3e:00:00:01",
           "fixed_ips": [{"subnet_id": "ts", "ip_address": "10.0.0.5"}],
           "security_groups": ["tg"]}
    body = bottom.port_body(top, "bn", {"ts": "bs"}, {"tg": "bg"})
    assert body["fixed_ips"] == [{"subnet_id": "bs", "ip_address": "10.0.0.5"}]
    assert (body["mac_address"], body["network_id"], body["security_groups"],
            body["name"]) == ("fa:16:3e:00:00:01", "bn", ["bg"], "tp")
    body = bottom.port_body(dict(top, port_security_enabled=False), "bn", {"ts": "bs"}, {})
    assert body["port_security_enabled"] is False and "security_groups" not in body


def test_missing_rules_maps_self_references_and_skips_other_groups():
    rule = {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": 80, "port_range_max": 80}
    top = {"id": "t", "project_id": "p", "security_group_rules": [
        rule, dict(rule, port_range_min=1, remote_group_id="t"),
        dict(rule, port_range_min=2, remote_group_id="other")]}
    copy = {"id": "b", "security_group_rules": [dict(rule, security_group_id="b")]}
    (only,) = bottom.missing_rules(top, copy)
    assert only["remote_group_id"] == "b" and only["port_range_min"] == 1
    assert only["security_group_id"] == "b"


def test_the_port_reconciler_follows_the_top(gateway, cloud, db):
    """The engine kind gateway_ports: a bottom port whose top port was deleted behind the
    gateway's back goes; the gateway's port of a boot whose server is gone goes with its
    top port; a port a server holds stays."""
    db.set_override("adopt_grace", 0, group="gateway")
    net, _ = make_network(gateway)
    resp, body = call(gateway, "POST", "/network/v2.0/ports", {"port": {"network_id": net["id"]}})
    users = body["port"]
    for entry in ([{"port": users["id"]}], [{"uuid": net["id"]}], [{"uuid": net["id"]}]):
        assert boot(gateway, "az1", entry)[0].status_int == 202
    top, pod = cloud["net"]["RegionOne"], cloud["net"]["RegionTwo"]
    made = [p for p in top.of("ports") if p["id"] != users["id"]]
    held = pod.of("ports", name=made[0]["id"])[0]
    held["device_id"] = "a-server"          # a server holds this one (Nova bound it)
    del top.items["ports"][users["id"]]      # deleted at the top, not through the gateway
    client = gateway_network.PodNetwork(db)
    assert gateway_ports.keys(client) == [Key(gateway_ports.KIND, "RegionTwo", "RegionTwo")]
    outcome = gateway_ports.reconcile(Key(gateway_ports.KIND, "RegionTwo", "RegionTwo"),
                                      controller.Env(shared=client, conf=db, engine_id="e"))
    assert outcome.status == "done"
    assert [p["id"] for p in pod.of("ports")] == [held["id"]]
    assert [p["id"] for p in top.of("ports")] == [made[0]["id"]]
    assert [r["top_id"] for r in routings.list_routings(
        db, filters={"resource_type": "port"})[0]] == [made[0]["id"]]
    db.clear_override("adopt_grace", group="gateway")


def test_a_server_deleted_through_the_gateway_frees_the_ports_made_for_it(gateway, cloud):
    net, _ = make_network(gateway)
    resp, body = call(gateway, "POST", "/network/v2.0/ports", {"port": {"network_id": net["id"]}})
    users = body["port"]
    top, pod = cloud["net"]["RegionOne"], cloud["net"]["RegionTwo"]
    resp, body = boot(gateway, "az1", [{"uuid": net["id"]}, {"port": users["id"]}])
    assert resp.status_int == 202, body
    server_id = body["server"]["id"]
    for port in pod.of("ports"):
        port["device_id"] = server_id        # what the pod's Nova does when it boots
    assert len(top.of("ports")) == 2 and len(pod.of("ports")) == 2
    resp, _ = call(gateway, "DELETE", f"/compute/v2.1/servers/{server_id}")
    assert resp.status_int == 204
    # the port made for the boot is gone, top and bottom; the user's own port stays
    assert [p["id"] for p in top.of("ports")] == [users["id"]]
    assert [p["name"] for p in pod.of("ports")] == [users["id"]]


def test_router_interfaces_register_router_jobs(gateway, db):
    """An interface the top added registers a router_setup job naming the network's pod
    (and the engine's work item); a removal a configure_route; a refused call none."""
    from multisite.objects import jobs, work_items

    net, subnet = make_network(gateway, hints=("az2",))
    resp, body = call(gateway, "POST", "/network/v2.0/routers", {"router": {"name": "r"}})
    assert resp.status_int == 201, body
    router = body["router"]["id"]
    top = next(p for p in pods.list_pods(db) if not p["az_name"])
    assert [(r["pod_id"], r["bottom_id"]) for r in routings.find(
        db, top_id=router, resource_type="router", project_id=PROJECT)] == [
        (top["pod_id"], router)]        # so that POST /v1.0/jobs accepts a job for it
    from multisite.api import app as api_app
    from tests.functional import test_personas as personas

    req = webob.Request.blank("/v1.0/jobs", method="POST", headers=personas.identity(
        personas.ADMIN_PROJECT, "admin"))
    req.body = json.dumps({"job": {"type": "configure_route", "project_id": PROJECT,
                                   "resource": {"router_id": router}}}).encode()
    req.content_type = "application/json"
    posted = req.get_response(api_app.build_app(db))
    assert posted.status_int == 200, posted.body
    jobs.delete(db, json.loads(posted.body)["job"]["id"])
    resp, body = call(gateway, "PUT", f"/network/v2.0/routers/{router}/add_router_interface",
                      {"subnet_id": subnet["id"]})
    assert resp.status_int == 200 and body["subnet_id"] == subnet["id"], body
    (job,) = jobs.list_jobs(db, project_id=PROJECT)[0]
    pod = next(p for p in pods.list_pods(db) if p["pod_name"] == "RegionThree")
    assert (job["type"], job["status"], job["resource"]) == ("router_setup", "NEW", {
        "pod_id": pod["pod_id"], "router_id": router, "network_id": net["id"]})
    assert [i["key_id"] for i in work_items.list_items(db, kind=jobs.WORK_KIND)] == [router]
    resp, _ = call(gateway, "PUT", "/network/v2.0/routers/nope/add_router_interface",
                   {"subnet_id": subnet["id"]})
    assert resp.status_int == 404 and len(jobs.list_jobs(db)[0]) == 1
    resp, _ = call(gateway, "PUT", f"/network/v2.0/routers/{router}/remove_router_interface",
                   {"subnet_id": subnet["id"]})
    assert resp.status_int == 200
    assert sorted(j["type"] for j in jobs.list_jobs(db)[0]) == ["configure_route",
                                                                "router_setup"]


def test_deleting_the_top_network_and_subnet_deletes_their_bottom_copies(gateway, cloud, db):
    net, subnet = make_network(gateway)
    for zone in POD_OF:
        resp, body = boot(gateway, zone, [{"uuid": net["id"]}])
        assert resp.status_int == 202, body
        resp, _ = call(gateway, "DELETE", f"/compute/v2.1/servers/{body['server']['id']}")
        assert resp.status_int == 204
    for pod in POD_OF.values():
        for port in cloud["net"][pod].of("ports"):   # what the pod's Nova does on delete
            del cloud["net"][pod].items["ports"][port["id"]]
        assert len(cloud["net"][pod].of("networks", name=net["id"])) == 1
    for routing in routings.find(db, top_id=net["id"], resource_type="network"):
        assert routing["bottom_id"]
    # the network deleted with its subnet still there (Neutron deletes both at the top)
    resp, _ = call(gateway, "DELETE", f"/network/v2.0/networks/{net['id']}")
    assert resp.status_int == 204
    for pod in POD_OF.values():
        assert cloud["net"][pod].of("networks") == [], pod
        assert cloud["net"][pod].of("subnets") == [], pod
    assert routings.find(db, top_id=net["id"], resource_type="network") == []
    assert routings.find(db, top_id=subnet["id"], resource_type="subnet") == []
    # a subnet deleted on its own takes its bottom copies; a group too
    net, subnet = make_network(gateway, cidr="10.8.0.0/24")
    resp, body = boot(gateway, "az1", [{"uuid": net["id"]}])
    assert resp.status_int == 202, body
    pod = cloud["net"]["RegionTwo"]
    for port in pod.of("ports"):
        del pod.items["ports"][port["id"]]
    assert len(pod.of("subnets", name=subnet["id"])) == 1
    resp, _ = call(gateway, "DELETE", f"/network/v2.0/subnets/{subnet['id']}")
    assert resp.status_int == 204
    assert pod.of("subnets") == [] and len(pod.of("networks")) == 1
    assert routings.find(db, top_id=subnet["id"], resource_type="subnet") == []
    (group,) = pod.of("security-groups", name="sg-default")
    resp, _ = call(gateway, "DELETE", "/network/v2.0/security-groups/sg-default")
    assert resp.status_int == 204
    assert pod.of("security-groups") == [] and group
    assert routings.find(db, top_id="sg-default", resource_type="security_group") == []
