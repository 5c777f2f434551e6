"""/v2/addresses and /v2/address-conflicts over an index the audit wrote (in-process app)."""

import json

import pytest
import webob

from multisite.engine import address_audit

PA, PB = "a" * 32, "b" * 32
R1, R2 = "RegionOne", "RegionTwo"


def neutron(project, suffix, *, fip=None):
    raw = {"networks": [{"id": f"n{suffix}", "project_id": project}],
           "subnets": [{"id": f"s{suffix}", "project_id": project, "network_id": f"n{suffix}",
                        "cidr": "10.0.0.0/24"}],
           "ports": [{"id": f"p{suffix}", "project_id": project, "network_id": f"n{suffix}",
                      "mac_address": f"fa:16:3e:00:00:{suffix}", "device_id": f"vm{suffix}",
                      "fixed_ips": [{"subnet_id": f"s{suffix}", "ip_address": "10.0.0.5"}]}]}
    if fip:
        raw["floatingips"] = [{"id": f"f{suffix}", "project_id": project,
                               "floating_ip_address": fip, "port_id": f"p{suffix}"}]
    return raw


@pytest.fixture
def seeded(db):
    address_audit.AddressAuditor(db, cloud=None).apply({
        R1: {k: neutron(PA, "11", fip="203.0.113.9")[k] + neutron(PB, "21")[k]
             for k in ("networks", "subnets", "ports")} | {
            "floatingips": neutron(PA, "11", fip="203.0.113.9")["floatingips"]},
        R2: neutron(PA, "12") | {"floatingips": neutron(PB, "22", fip="203.0.113.9")[
            "floatingips"]}}, {})
    return db


def get(app, url, project, roles="member", method="GET", body=None):
    req = webob.Request.blank(url, method=method, headers={
        "X-Project-Id": project, "X-User-Id": "u", "X-Roles": roles})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    resp = req.get_response(app)
    return resp.status_int, json.loads(resp.body)


def test_members_see_their_conflicts_and_only_where_the_others_are(wsgi_app, seeded):
    status, body = get(wsgi_app, "/v2/address-conflicts", PA)
    assert status == 200
    kinds = {(c["kind"], c["address"]) for c in body["address_conflicts"]}
    assert kinds == {("cidr", "10.0.0.0/24"), ("ip", "10.0.0.5"), ("public_ip", "203.0.113.9")}
    public = next(c for c in body["address_conflicts"] if c["kind"] == "public_ip")
    theirs = next(s for s in public["sides"] if s["project_id"] == PB)
    assert set(theirs) == {"region", "project_id", "kind", "address"}
    mine = next(s for s in public["sides"] if s["project_id"] == PA)
    assert mine["port_id"] == "p11"
    _, body = get(wsgi_app, "/v2/address-conflicts", PB)
    assert {c["kind"] for c in body["address_conflicts"]} == {"public_ip"}
    status, _ = get(wsgi_app, f"/v2/address-conflicts/{public['id']}", PB)
    assert status == 200
    ip = next(c for c in get(wsgi_app, "/v2/address-conflicts", PA)[1]["address_conflicts"]
              if c["kind"] == "ip")
    status, body = get(wsgi_app, f"/v2/address-conflicts/{ip['id']}", PB)
    assert (status, body["error"]["code"]) == (404, "address_conflict.not_found")


def test_admin_pages_through_every_conflict(wsgi_app, seeded):
    status, body = get(wsgi_app, "/v2/address-conflicts?all_projects=true&limit=2", PA,
                       "admin")
    assert status == 200 and len(body["address_conflicts"]) == 2
    nxt = body["links"][0]["href"].split("localhost", 1)[1]
    _, rest = get(wsgi_app, nxt, PA, "admin")
    assert len(rest["address_conflicts"]) == 1 and rest["links"] == []
    _, by_region = get(wsgi_app, "/v2/address-conflicts?all_projects=true&kind=public_ip"
                                 f"&region={R2}", PA, "admin")
    assert [c["address"] for c in by_region["address_conflicts"]] == ["203.0.113.9"]


def test_who_has_this_address(wsgi_app, seeded):
    status, body = get(wsgi_app, "/v2/addresses?ip=10.0.0.5&kind=fixed_ip", PA)
    assert status == 200
    assert sorted((e["region"], e["port_id"], e["device_id"]) for e in body["addresses"]) == [
        (R1, "p11", "vm11"), (R2, "p12", "vm12")]
    assert {a["region"] for a in body["index"]} == {R1, R2}
    _, body = get(wsgi_app, "/v2/addresses?all_projects=true&mac=FA-16-3E-00-00-21", PA,
                  "admin")
    assert [(e["project_id"], e["port_id"]) for e in body["addresses"]] == [(PB, "p21")]
    _, body = get(wsgi_app, "/v2/addresses?cidr=10.0.0.4/30", PB)
    assert {e["kind"] for e in body["addresses"]} == {"fixed_ip", "subnet"}
    assert {e["project_id"] for e in body["addresses"]} == {PB}
    status, body = get(wsgi_app, "/v2/addresses?project_id=" + PA, PB)
    assert (status, body["error"]["code"]) == (403, "policy.forbidden")


def test_check_a_planned_subnet(wsgi_app, seeded):
    status, body = get(wsgi_app, "/v2/address-conflicts/check", PA, method="POST",
                       body={"cidr": "10.0.0.128/25", "region": "RegionThree"})
    assert status == 200 and body["conflict"] is True
    assert sorted(o["region"] for o in body["overlaps"]) == [R1, R2]
    _, body = get(wsgi_app, "/v2/address-conflicts/check", PA, method="POST",
                  body={"cidr": "10.0.1.0/24"})
    assert body["conflict"] is False
    # another project's planned subnet: another domain, unless the operator says otherwise
    _, body = get(wsgi_app, "/v2/address-conflicts/check", PA, "admin", method="POST",
                  body={"cidr": "10.0.0.0/16", "project_id": "c" * 32})
    assert body["conflict"] is False
    status, body = get(wsgi_app, "/v2/address-conflicts/check", PB, method="POST",
                       body={"cidr": "10.0.0.0/16", "project_id": PA})
    assert (status, body["error"]["code"]) == (403, "policy.forbidden")
