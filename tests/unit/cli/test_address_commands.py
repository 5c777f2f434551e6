"""`multisite inventory|address ...` against the real app over HTTP, on an audited index."""

import json

import pytest

from multisite.engine import address_audit

R1, R2 = "RegionOne", "RegionTwo"


@pytest.fixture
def indexed(db, project_id):
    def neutron(suffix):
        return {"networks": [{"id": f"n{suffix}", "project_id": project_id}],
                "subnets": [{"id": f"s{suffix}", "project_id": project_id,
                             "network_id": f"n{suffix}", "cidr": "10.0.0.0/24"}],
                "ports": [{"id": f"p{suffix}", "project_id": project_id,
                           "network_id": f"n{suffix}", "mac_address": "fa:16:3e:00:00:01",
                           "device_id": "vm", "fixed_ips": [
                               {"subnet_id": f"s{suffix}", "ip_address": "10.0.0.5"}]}]}
    address_audit.AddressAuditor(db, cloud=None).apply({R1: neutron(1), R2: neutron(2)}, {})
    return project_id


def test_address_list_show_conflicts_check(cli, indexed):
    code, out, _ = cli("address", "list", "--ip", "10.0.0.5", "--kind", "fixed_ip",
                       "-f", "json", roles="member")
    assert code == 0
    assert sorted((r["Region"], r["Port"]) for r in json.loads(out)) == [(R1, "p1"), (R2, "p2")]
    code, out, _ = cli("address", "show", "FA:16:3E:00:00:01", "-f", "json", roles="member")
    assert code == 0 and {r["Region"] for r in json.loads(out)} == {R1, R2}
    code, _, err = cli("address", "show", "10.9.9.9", roles="member")
    assert code == 1 and "No address 10.9.9.9" in err
    code, out, _ = cli("address", "conflicts", "-f", "json", roles="member")
    rows = json.loads(out)
    assert {(r["Kind"], r["Address"]) for r in rows} == {
        ("cidr", "10.0.0.0/24"), ("ip", "10.0.0.5"), ("mac", "fa:16:3e:00:00:01")}
    assert all(r["Regions"] == f"{R1}, {R2}" for r in rows)
    code, out, _ = cli("address", "conflicts", "--watch", "--count", "1", roles="member")
    assert code == 0 and out.count(" open ") == 3
    code, out, _ = cli("address", "check", "10.0.0.0/25", "-f", "json", "--fail-on-conflict",
                       roles="member")
    assert code == 2 and json.loads(out)["Conflict"] is True
    code, out, _ = cli("address", "check", "10.1.0.0/16", "-f", "value", "-c", "Conflict",
                       roles="member")
    assert (code, out.strip()) == (0, "False")
    code, _, err = cli("address", "list", "--ip", "300.1.1.1")
    assert code == 1 and "address.invalid" in err


def test_inventory_without_regions(cli):
    code, out, err = cli("inventory", "list", "-f", "json", roles="member")
    assert (code, json.loads(out)) == (0, [])
    assert "Read from 0 regions" in err
    code, out, _ = cli("inventory", "summary", "-f", "json", roles="member")
    assert (code, json.loads(out)) == (0, [])
