"""GET /v2/routers/{id}/topology (issue 17, visibility): the engine reads a top router in
every pod (engine/net_topology.py over the in-memory Neutrons of test_net_router_jobs) and
says per pod whether it matches the top; who may ask (the router's project, admins; another
project's member gets a 404, no role a 403, no identity a 401)."""

import json

import pytest
import webob

from multisite.clients import router_network
from multisite.engine import net_topology
from tests.functional.test_net_router_jobs import (  # noqa: F401  (fixture)
    PROJECT,
    run,
    seed_top,
    world,
)
from tests.functional.test_personas import identity

OTHER = "f" * 32


@pytest.fixture
def routed(db, world, monkeypatch):  # noqa: F811
    """A top router with interfaces in RegionTwo and RegionThree, converged by a run."""
    from multisite.objects import jobs

    monkeypatch.setattr(router_network, "RouterNetwork", lambda conf: world.client(conf))
    router = seed_top(world, [("az1", "10.0.1.0/24"), ("az2", "10.0.2.0/24")])
    jobs.create(db, project_id=PROJECT, job_type="configure_route",
                resource={"router_id": router})
    run(db, world, router)
    return router


def by_pod(topology):
    return {p["pod"]: p for p in topology["pods"]}


def test_a_converged_router_is_in_sync_and_drift_is_named(db, world, routed):  # noqa: F811
    found = net_topology.read(db, routed, PROJECT)
    assert found["in_sync"] and found["exists_at_top"], found
    pods = by_pod(found)
    assert sorted(pods) == ["RegionThree", "RegionTwo"]
    two = pods["RegionTwo"]
    assert two["routes"] == two["expected_routes"] == [
        {"destination": "10.0.2.0/24", "nexthop": pods["RegionThree"]["bridge_ip"]}]
    assert two["bridge_ip"] == two["expected_bridge_ip"] == "100.64.0.1"
    assert [(i["top_subnet_id"], i["cidr"]) for i in two["interfaces"]] == [
        ("sub-az1", "10.0.1.0/24")]
    assert two["drift"] == [] and two["router_id"]
    # drift: the routes cleared in one pod, the other pod down
    (bottom,) = world.items["RegionTwo"]["routers"].values()
    bottom["routes"] = []
    world.down.add("RegionThree")
    found = net_topology.read(db, routed, PROJECT)
    pods = by_pod(found)
    assert not found["in_sync"]
    assert pods["RegionTwo"]["routes"] == [] and pods["RegionTwo"]["drift"] == ["routes"]
    assert pods["RegionThree"]["in_sync"] is False
    assert "unreachable" in pods["RegionThree"]["error"]


def get(app, path, project, roles):
    req = webob.Request.blank(path, headers=identity(project, roles))
    resp = req.get_response(app)
    return resp.status_int, json.loads(resp.body)


@pytest.mark.parametrize(("project", "roles", "status"), [
    (PROJECT, "member", 200), (PROJECT, "reader", 200), (OTHER, "admin", 200),
    (OTHER, "member,reader", 404), (PROJECT, "", 403), (None, None, 401)])
def test_who_may_read_a_topology(wsgi_app, routed, project, roles, status):
    got, body = get(wsgi_app, f"/v2/routers/{routed}/topology", project, roles)
    assert got == status, body
    if status == 200:
        assert body["topology"]["in_sync"] is True
        assert body["topology"]["project_id"] == PROJECT
    elif status == 404:
        assert body["error"]["code"] == "router.not_found"


def test_an_unknown_router_is_a_404_and_a_query_a_400(wsgi_app, routed):
    got, body = get(wsgi_app, "/v2/routers/nope/topology", PROJECT, "member")
    assert (got, body["error"]["code"]) == (404, "router.not_found")
    got, body = get(wsgi_app, f"/v2/routers/{routed}/topology?x=1", PROJECT, "member")
    assert got == 400, body
