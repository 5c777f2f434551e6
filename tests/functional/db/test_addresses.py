"""The address index and conflicts on a real database (three backends), via the audit."""

import pytest

from multisite.db import migration
from multisite.engine import address_audit
from multisite.objects import address_conflicts, quotas
from multisite.objects import addresses as index

R1, R2 = "RegionOne", "RegionTwo"
PA = "a" * 32


@pytest.fixture
def synced(conf, backend_url):
    migration.db_sync(conf, default_limits=quotas.config_defaults(conf))
    return conf


def neutron(*, cidr="10.0.0.0/24", ip="10.0.0.5", mac="fa:16:3e:00:00:01", suffix="1"):
    return {
        "networks": [{"id": f"n{suffix}", "project_id": PA, "name": "net"}],
        "subnets": [{"id": f"s{suffix}", "project_id": PA, "network_id": f"n{suffix}",
                     "cidr": cidr, "allocation_pools": [{"start": "10.0.0.2",
                                                         "end": "10.0.0.254"}]
                     if cidr.startswith("10.") else []}],
        "ports": [{"id": f"p{suffix}", "project_id": PA, "network_id": f"n{suffix}",
                   "mac_address": mac, "device_owner": "compute:nova", "device_id": "vm",
                   "fixed_ips": [{"subnet_id": f"s{suffix}", "ip_address": ip}]}],
    }


def audit(conf, raw, failures=None, *, partial=False):
    return address_audit.AddressAuditor(conf, cloud=None).apply(raw, failures or {},
                                                                 partial=partial)


def test_conflicts_raised_kept_and_cleared(synced):
    first = audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2",
                                                                  mac="fa:16:3e:00:00:02")})
    assert sorted((c["kind"], c["address"]) for c in first.raised) == [
        ("cidr", "10.0.0.0/24"), ("ip", "10.0.0.5")]
    ip = next(c for c in first.raised if c["kind"] == "ip")
    assert [(s["region"], s["port_id"], s["subnet_id"]) for s in ip["sides"]] == [
        (R1, "p1", "s1"), (R2, "p2", "s2")]
    assert first.inserted == 8 and first.deleted == 0

    again = audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2",
                                                                  mac="fa:16:3e:00:00:02")})
    assert (again.raised, again.cleared, again.inserted, again.deleted) == ([], [], 0, 0)
    listed = address_conflicts.search(synced, project_id=PA)
    assert {c["id"] for c in listed} == {c["id"] for c in first.raised}

    # RegionTwo's port moves to another address: the IP conflict is cleared
    third = audit(synced, {R1: neutron(suffix="1"),
                           R2: neutron(suffix="2", ip="10.0.0.6", mac="fa:16:3e:00:00:02")})
    assert [c["id"] for c in third.cleared] == [ip["id"]]
    assert third.cleared[0]["cleared_at"] is not None
    assert [c["kind"] for c in address_conflicts.search(synced)] == ["cidr"]
    assert len(address_conflicts.search(synced, include_cleared=True)) == 2


def test_unreachable_region_keeps_its_index(synced):
    audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2", mac="fa:16:3e:00:00:02")})
    result = audit(synced, {R1: neutron(suffix="1")}, {R2: RuntimeError("down")})
    assert (result.raised, result.cleared) == ([], [])
    assert len(address_conflicts.search(synced)) == 2
    rows = {a["region"]: a for a in index.audits(synced)}
    assert rows[R2]["ok"] is False and "down" in rows[R2]["error"]
    assert rows[R2]["audited_at"] is not None and rows[R1]["ok"] is True


def test_lookups(synced):
    audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2", cidr="2001:db8::/64",
                                                        ip="2001:0db8::5")})
    by_ip = index.search(synced, ip="10.0.0.5")
    assert sorted(e["kind"] for e in by_ip) == ["fixed_ip", "pool", "subnet"]
    assert [e["region"] for e in index.search(synced, ip="2001:db8:0::5")] == [R2, R2]
    assert {e["region"] for e in index.search(synced, mac="fa:16:3e:00:00:01")} == {R1, R2}
    assert {e["kind"] for e in index.search(synced, cidr="10.0.0.0/16")} == {
        "fixed_ip", "pool", "subnet"}
    assert index.search(synced, cidr="10.1.0.0/16") == []
    assert [e["region"] for e in index.overlapping_subnets(synced, "10.0.0.128/25")] == [R1]
    page = index.search(synced, limit=3)
    rest = index.search(synced, limit=100, marker=page[-1]["id"])
    assert len(page) == 3 and len(page) + len(rest) == 7
    assert index.get(synced, page[0]["id"]) == page[0]


def test_region_gone_from_catalog_is_forgotten(synced):
    audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2", mac="fa:16:3e:00:00:02")})
    result = audit(synced, {R1: neutron(suffix="1")})
    assert {c["kind"] for c in result.cleared} == {"cidr", "ip"}
    assert {e["region"] for e in index.search(synced)} == {R1}


def test_audit_without_keystone_keeps_the_index(synced):
    audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2", mac="fa:16:3e:00:00:02")})

    class Unconfigured:
        configured = False

    result = address_audit.AddressAuditor(synced, Unconfigured()).run()
    assert (result.regions_ok, result.regions_failed) == ([], {})
    assert {e["region"] for e in index.search(synced)} == {R1, R2}
    assert len(address_conflicts.search(synced)) == 2


def test_one_regions_refresh_keeps_the_others_and_updates_conflicts_and_metrics(synced):
    """A notification's refresh (partial): RegionOne is re-read alone; RegionTwo's stored
    entries stay and still count for the conflicts; the conflict gauge follows."""
    from multisite import metrics

    def gauge(kind):
        return metrics.ADDRESS_CONFLICTS.labels(kind)._value.get()

    def changes(kind, change):
        return metrics.ADDRESS_CONFLICT_CHANGES.labels(kind, change)._value.get()

    audit(synced, {R1: neutron(suffix="1", ip="10.0.0.7"),
                   R2: neutron(suffix="2", mac="fa:16:3e:00:00:02")})
    assert (gauge("cidr"), gauge("ip"), gauge("mac")) == (1, 0, 0)
    raised = changes("ip", "raised")
    # RegionOne's port now has RegionTwo's address: only RegionOne is read
    result = audit(synced, {R1: neutron(suffix="1")}, partial=True)
    assert [(c["kind"], c["address"]) for c in result.raised] == [("ip", "10.0.0.5")]
    assert {e["region"] for e in index.search(synced)} == {R1, R2}
    assert (gauge("cidr"), gauge("ip")) == (1, 1)
    assert changes("ip", "raised") == raised + 1
    # and a refresh of RegionTwo where the port went away clears it
    cleared = changes("ip", "cleared")
    gone = neutron(suffix="2", mac="fa:16:3e:00:00:02")
    gone["ports"] = []
    result = audit(synced, {R2: gone}, partial=True)
    assert [c["kind"] for c in result.cleared] == ["ip"]
    assert gauge("ip") == 0 and changes("ip", "cleared") == cleared + 1
    assert {e["region"] for e in index.search(synced)} == {R1, R2}
