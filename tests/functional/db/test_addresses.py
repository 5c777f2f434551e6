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


def test_streamed_regions_are_written_as_they_come(synced):
    """converge() takes the regions as the audit reads them (an iterator), commits each
    region as it comes (no transaction is open while the next region is read: another
    writer is not held up), and reads the failures found along the way once the regions
    are exhausted."""
    from multisite.db import api as db_api
    from multisite.reconcilers import addresses as planner

    audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2", mac="fa:16:3e:00:00:02")})
    failures, written = {}, []
    auditor = address_audit.AddressAuditor(synced, cloud=None)

    def read():
        yield R1, planner.index_entries(R1, neutron(suffix="1", ip="10.0.0.9"))
        written.append([e["region"] for e in index.search(synced, ip="10.0.0.9")
                        if e["kind"] == "fixed_ip"])
        # another writer, while the audit waits for its next region: not blocked
        with db_api.session_scope(synced) as session:
            index.record_audit(session, "RegionElsewhere", now=address_audit._now(),
                               ok=False, error="another writer")
        failures[R2] = RuntimeError("down")  # found after R1 was handed over

    result = auditor.converge(read(), failures)
    assert result.regions_ok == [R1] and list(result.regions_failed) == [R2]
    # R1 is committed as soon as it is written, and R2 kept its entries
    assert written == [[R1]]
    hosts = {ip: [e["region"] for e in index.search(synced, ip=ip) if e["kind"] == "fixed_ip"]
             for ip in ("10.0.0.9", "10.0.0.5")}
    assert hosts == {"10.0.0.9": [R1], "10.0.0.5": [R2]}
    assert [c["kind"] for c in result.cleared] == ["ip"]
    assert {"read", "wait", "write", "plan", "conflicts"} <= set(result.timings)


def test_an_audit_writes_each_region_while_the_next_is_read(synced):
    """run() hands each region to the write as its read ends: a region still being read
    finds the regions read before it committed (not held for the slowest one), and
    no transaction of the audit keeps another writer waiting meanwhile."""
    from multisite.db import api as db_api
    from multisite.reconcilers import addresses as planner

    seen = []

    class Auditor(address_audit.AddressAuditor):
        def read_regions(self, only=None):
            def read():
                yield R1, planner.index_entries(R1, neutron(suffix="1"))
                # RegionTwo is still being read: RegionOne is already in the index
                seen.append(sorted(a["region"] for a in index.audits(synced)))
                with db_api.session_scope(synced) as session:
                    index.record_audit(session, R2, now=address_audit._now(), ok=False,
                                       error="another writer")
                yield R2, planner.index_entries(R2, neutron(suffix="2",
                                                            mac="fa:16:3e:00:00:02"))
            return [R1, R2], read(), {}

    result = Auditor(synced, cloud=None).run()
    assert seen == [[R1]]
    assert result.regions_ok == [R1, R2] and result.inserted == 8
    assert sorted(c["kind"] for c in result.raised) == ["cidr", "ip"]
    assert {a["region"]: a["ok"] for a in index.audits(synced)} == {R1: True, R2: True}


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


def _nets(region, cidrs, hosts):
    """Neutron lists of one region: a subnet per CIDR (pool: its 2nd to 2nd-last address),
    a port per host address, on the subnet that holds it."""
    import ipaddress

    raw = {"networks": [{"id": f"{region}-n", "project_id": PA, "name": "net"}],
           "subnets": [], "ports": []}
    for i, cidr in enumerate(cidrs):
        net = ipaddress.ip_network(cidr)
        raw["subnets"].append({"id": f"{region}-s{i}", "project_id": PA,
                               "network_id": f"{region}-n", "cidr": cidr,
                               "allocation_pools": [{"start": str(net[2]),
                                                     "end": str(net[-2])}]})
    for j, host in enumerate(hosts):
        raw["ports"].append({"id": f"{region}-p{j}", "project_id": PA,
                             "network_id": f"{region}-n", "mac_address": "",
                             "fixed_ips": [{"ip_address": host}]})
    return raw


def _expected(raw_by_region, *, ip=None, cidr=None):
    """Brute force: (region, kind, address) of every entry holding `ip` / overlapping
    `cidr`."""
    import ipaddress

    wanted = ipaddress.ip_network(cidr or ip)
    out = set()
    for region, raw in raw_by_region.items():
        for subnet in raw["subnets"]:
            net = ipaddress.ip_network(subnet["cidr"])
            if net.version == wanted.version and net.overlaps(wanted):
                out.add((region, "subnet", subnet["cidr"]))
            for pool in subnet["allocation_pools"]:
                start, end = (ipaddress.ip_address(pool[k]) for k in ("start", "end"))
                if start.version == wanted.version and start <= wanted[-1] and \
                        end >= wanted[0]:
                    out.add((region, "pool", f"{start}-{end}"))
        for port in raw["ports"]:
            host = ipaddress.ip_address(port["fixed_ips"][0]["ip_address"])
            if host.version == wanted.version and host in wanted:
                out.add((region, "fixed_ip", str(host)))
    return out


LOOKUP_REGIONS = {
    R1: _nets(R1, ["10.0.0.0/8", "10.1.2.0/24", "192.168.0.0/30", "2001:db8::/48"],
              ["10.1.2.5", "10.9.9.9", "2001:db8::5"]),
    R2: _nets(R2, ["10.1.0.0/16", "10.1.2.128/25", "192.168.0.4/30", "2001:db8:0:1::/64"],
              ["10.1.2.5", "10.1.2.200", "2001:db8:0:1::5"]),
}


@pytest.mark.parametrize("query", [
    {"ip": "10.1.2.5"}, {"ip": "10.1.2.200"}, {"ip": "10.1.2.1"}, {"ip": "10.0.0.0"},
    {"ip": "10.255.255.255"}, {"ip": "11.0.0.1"}, {"ip": "192.168.0.3"},
    {"ip": "192.168.0.6"}, {"ip": "2001:db8::5"}, {"ip": "2001:db8:0:1::5"},
    {"ip": "2001:db8:1::1"}, {"cidr": "10.1.2.0/25"}, {"cidr": "10.1.2.192/26"},
    {"cidr": "10.1.0.0/16"}, {"cidr": "192.168.0.0/29"}, {"cidr": "2001:db8::/64"},
    {"cidr": "2001:db8:0:1::/80"}, {"cidr": "172.16.0.0/12"},
])
def test_lookups_find_what_brute_force_finds(synced, query):
    """?ip= and ?cidr= probe the keys of the enclosing subnets and bound the pool scan by
    the lowest of them: the answer is every entry holding the address (or overlapping
    the CIDR), whatever the nesting of subnets across regions."""
    audit(synced, LOOKUP_REGIONS)
    found = {(e["region"], e["kind"], e["address"])
             for e in index.search(synced, limit=1000, **query)}
    assert found == _expected(LOOKUP_REGIONS, **query)


def test_mac_lookup_uses_the_mac_key(synced):
    audit(synced, {R1: neutron(suffix="1"), R2: neutron(suffix="2", ip="10.0.0.6")})
    assert {e["region"] for e in index.search(synced, mac="fa:16:3e:00:00:01")} == {R1, R2}
    # a MAC key never answers an address query, even one that sorts next to it
    assert all(e["kind"] != "mac" for e in index.search(synced, cidr="0.0.0.0/0"))


def test_migration_0019_keys_the_stored_macs(conf, backend_url):
    """Rows written before 0019 held no key for a MAC; the migration gives them one, so
    that the (kind, addr_key) index answers ?mac= before the next audit."""
    import sqlalchemy as sa
    from alembic import command

    from multisite.db import api as db_api

    migration.db_sync(conf, version="0015_identity2")
    table = sa.table("address_index", *(sa.column(c) for c in (
        "kind", "address", "version", "region", "project_id", "domain", "addr_key",
        "addr_end", "seen_at", "network_id", "subnet_id", "port_id", "device_owner",
        "device_id", "resource_id", "related")))
    common = {"version": 0, "region": R1, "project_id": PA, "domain": "d",
              "seen_at": address_audit._now(), "network_id": "", "subnet_id": "",
              "port_id": "", "device_owner": "", "device_id": "", "resource_id": "",
              "related": ""}
    with db_api.get_engine(conf).begin() as connection:
        connection.execute(table.insert(), [
            {**common, "kind": "mac", "address": "fa:16:3e:00:00:09", "addr_key": "",
             "addr_end": ""},
            {**common, "kind": "fixed_ip", "address": "10.0.0.9", "version": 4,
             "addr_key": "4" + "0" * 24 + "0a000009", "addr_end": "4" + "0" * 24 + "0a000009"}])
    migration.db_sync(conf)
    assert [e["kind"] for e in index.search(conf, mac="fa:16:3e:00:00:09")] == ["mac"]
    assert [e["kind"] for e in index.search(conf, ip="10.0.0.9")] == ["fixed_ip"]
    with db_api.get_engine(conf).begin() as connection:
        command.downgrade(migration._alembic_config(connection), "0015_identity2")
    with db_api.get_engine(conf).connect() as connection:
        keys = dict(connection.execute(sa.select(table.c.kind, table.c.addr_key)).all())
    assert keys["mac"] == "" and keys["fixed_ip"].endswith("0a000009")


def test_a_region_larger_than_one_insert_batch_is_written_whole(synced):
    """A region's rows go in multi-row INSERTs of VALUES_BATCH rows: full batches and a
    last, shorter one, all written, and an unchanged second audit writes nothing."""
    size = max(index.VALUES_BATCH.values()) * 2 + 7
    ports = [{"id": f"p{i}", "project_id": PA, "network_id": "n1",
              "mac_address": f"fa:16:3e:00:{i >> 8:02x}:{i & 0xFF:02x}",
              "device_owner": "compute:nova", "device_id": f"vm{i}",
              "fixed_ips": [{"subnet_id": "s1",
                             "ip_address": f"10.0.{i >> 8}.{i & 0xFF}"}]}
             for i in range(size // 2)]
    raw = {**neutron(cidr="10.0.0.0/16"), "ports": ports}
    first = audit(synced, {R1: raw})
    # the subnet, its pool, and an address and a MAC per port
    assert first.inserted == first.entries == 2 + 2 * len(ports) > size
    assert len(index.search(synced, region=R1, limit=10 * size)) == first.entries
    last = ports[-1]["fixed_ips"][0]["ip_address"]
    assert [e["port_id"] for e in index.search(synced, ip=last)
            if e["kind"] == "fixed_ip"] == [ports[-1]["id"]]
    again = audit(synced, {R1: raw})
    assert (again.inserted, again.deleted) == (0, 0)


def test_the_collector_is_off_while_an_audit_runs_and_on_after(synced):
    import gc

    seen = []

    def regions():
        seen.append(gc.isenabled())
        with address_audit.collector_paused():  # a concurrent audit, ending first
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())
        yield R1, address_audit.planner.index_entries(R1, neutron())

    assert gc.isenabled()
    auditor = address_audit.AddressAuditor(synced, cloud=None)
    assert auditor.converge(regions(), {}).inserted == 4
    assert seen == [False, False, False] and gc.isenabled()
    gc.disable()
    try:  # off before the audit: still off after it
        auditor.converge({}, {})
        assert not gc.isenabled()
    finally:
        gc.enable()
