"""Address conflicts as parametrized matrices: Neutron lists per region -> conflicts."""

import pytest

from multisite import addressing as ad
from multisite.reconcilers import addresses

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
PA, PB = "a" * 32, "b" * 32


def net(nid, project=PA, *, name="", tags=(), external=False):
    return {"id": nid, "project_id": project, "name": name or nid, "tags": list(tags),
            "router:external": external}


def subnet(sid, cidr, network, project=PA, *, pool=None, pools=()):
    return {"id": sid, "cidr": cidr, "network_id": network, "project_id": project,
            "subnetpool_id": pool, "allocation_pools": [
                {"start": s, "end": e} for s, e in pools]}


def port(pid, network, *ips, project=PA, mac="fa:16:3e:00:00:01", owner="compute:nova",
         pairs=()):
    return {"id": pid, "network_id": network, "project_id": project, "mac_address": mac,
            "device_owner": owner, "device_id": f"dev-{pid}",
            "fixed_ips": [{"subnet_id": s, "ip_address": ip} for s, ip in ips],
            "allowed_address_pairs": [{"ip_address": p} for p in pairs]}


def region(*objs, **lists):
    raw = {k: [] for k in ("networks", "subnets", "ports", "floatingips", "routers",
                           "subnetpools", "address_scopes")}
    for obj in objs:
        kind = ("ports" if "fixed_ips" in obj else "subnets" if "cidr" in obj
                else "networks")
        raw[kind].append(obj)
    for key, value in lists.items():
        raw[key].extend(value)
    return raw


def conflicts(regions, *, rules=(), mac_scope="domain"):
    rules = ad.parse_rules(rules)
    entries = [e for name, raw in regions.items()
               for e in addresses.index_entries(name, raw, rules)]
    found = addresses.plan(entries, mac_scope=mac_scope)
    return {(c.kind, c.domain, c.address, tuple(c.regions)) for c in found.values()}


def dom(project=PA):
    return f"project:{project}"


MAC1 = "fa:16:3e:00:00:01"

MATRIX = [
    # identical IPv4 subnets and fixed IPs in two regions of one project
    ("same v4 cidr and ip",
     {R1: region(net("n1"), subnet("s1", "10.0.0.0/24", "n1"),
                 port("p1", "n1", ("s1", "10.0.0.5"), mac="fa:16:3e:00:00:11")),
      R2: region(net("n2"), subnet("s2", "10.0.0.0/24", "n2"),
                 port("p2", "n2", ("s2", "10.0.0.5"), mac="fa:16:3e:00:00:22"))},
     {}, {("cidr", dom(), "10.0.0.0/24", (R1, R2)), ("ip", dom(), "10.0.0.5", (R1, R2))}),
    # IPv6: two spellings of one address are one address
    ("v6 canonical",
     {R1: region(net("n1"), subnet("s1", "2001:db8::/64", "n1"),
                 port("p1", "n1", ("s1", "2001:db8::1"), mac="fa:16:3e:00:00:11")),
      R2: region(net("n2"), subnet("s2", "2001:0db8:0:0::/64", "n2"),
                 port("p2", "n2", ("s2", "2001:0db8:0:0::1"), mac="fa:16:3e:00:00:22"))},
     {}, {("cidr", dom(), "2001:db8::/64", (R1, R2)),
          ("ip", dom(), "2001:db8::1", (R1, R2))}),
    # nested CIDRs: the overlap is the smaller one
    ("nested",
     {R1: region(net("n1"), subnet("s1", "10.0.0.0/16", "n1")),
      R2: region(net("n2"), subnet("s2", "10.0.1.0/24", "n2"),
                 subnet("s3", "10.0.2.0/24", "n2"))},
     {}, {("cidr", dom(), "10.0.1.0/24", (R1, R2)), ("cidr", dom(), "10.0.2.0/24", (R1, R2))}),
    # adjacent CIDRs do not overlap
    ("adjacent",
     {R1: region(net("n1"), subnet("s1", "10.0.0.0/25", "n1")),
      R2: region(net("n2"), subnet("s2", "10.0.0.128/25", "n2"))},
     {}, set()),
    # v4 and v6 never overlap each other
    ("v4 vs v6", {R1: region(net("n1"), subnet("s1", "0.0.0.0/0", "n1")),
                  R2: region(net("n2"), subnet("s2", "::/0", "n2"))}, {}, set()),
    # one region, two networks with the same CIDR and IP: not a cross-region conflict
    ("one region two networks",
     {R1: region(net("n1"), net("n2"), subnet("s1", "10.0.0.0/24", "n1"),
                 subnet("s2", "10.0.0.0/24", "n2"),
                 port("p1", "n1", ("s1", "10.0.0.5"), mac="fa:16:3e:00:00:11"),
                 port("p2", "n2", ("s2", "10.0.0.5"), mac="fa:16:3e:00:00:22"))},
     {}, set()),
    # other project: another domain by default
    ("two projects",
     {R1: region(net("n1"), subnet("s1", "10.0.0.0/24", "n1")),
      R2: region(net("n2", PB), subnet("s2", "10.0.0.0/24", "n2", PB))},
     {}, set()),
    # ... unless the operator declares one domain for both projects' networks
    ("operator domain by network name",
     {R1: region(net("n1", name="vpn-a"), subnet("s1", "10.0.0.0/24", "n1")),
      R2: region(net("n2", PB, name="vpn-b"), subnet("s2", "10.0.0.0/24", "n2", PB))},
     {"rules": ["corp:network=vpn-*"]},
     {("cidr", "operator:corp", "10.0.0.0/24", (R1, R2))}),
    ("operator domain by tag and project",
     {R1: region(net("n1", tags=["wan"]), subnet("s1", "10.0.0.0/24", "n1")),
      R2: region(net("n2", PB), subnet("s2", "10.0.0.0/24", "n2", PB))},
     {"rules": ["corp:tag=wan", f"corp:project={PB}"]},
     {("cidr", "operator:corp", "10.0.0.0/24", (R1, R2))}),
    # address scopes group by scope name, across projects, and split one project
    ("address scopes",
     {R1: region(net("n1"), net("n3"), subnet("s1", "10.0.0.0/24", "n1", pool="sp1"),
                 subnet("s3", "172.16.0.0/24", "n3"),
                 subnetpools=[{"id": "sp1", "address_scope_id": "as1"}],
                 address_scopes=[{"id": "as1", "name": "blue"}]),
      R2: region(net("n2", PB), net("n4"), subnet("s2", "10.0.0.0/24", "n2", PB, pool="sp2"),
                 subnet("s4", "172.16.0.0/24", "n4", pool="sp3"),
                 subnetpools=[{"id": "sp2", "address_scope_id": "as2"},
                              {"id": "sp3", "address_scope_id": "as3"}],
                 address_scopes=[{"id": "as2", "name": "blue"}, {"id": "as3", "name": "red"}])},
     {}, {("cidr", "scope:blue", "10.0.0.0/24", (R1, R2))}),
    # the same MAC in two regions; mac_scope=global ignores domains
    ("mac in domain",
     {R1: region(net("n1"), port("p1", "n1", mac=MAC1.upper())),
      R2: region(net("n2"), port("p2", "n2", mac=MAC1))},
     {}, {("mac", dom(), MAC1, (R1, R2))}),
    ("mac other project", {R1: region(net("n1"), port("p1", "n1")),
                           R2: region(net("n2", PB), port("p2", "n2", project=PB))}, {}, set()),
    ("mac global", {R1: region(net("n1"), port("p1", "n1")),
                    R2: region(net("n2", PB), port("p2", "n2", project=PB))},
     {"mac_scope": "global"}, {("mac", "global", MAC1, (R1, R2))}),
    # floating and gateway IPs: public, whatever the projects
    ("floating ip",
     {R1: region(floatingips=[{"id": "f1", "floating_ip_address": "203.0.113.5",
                               "project_id": PA, "floating_network_id": "e1"}]),
      R2: region(floatingips=[{"id": "f2", "floating_ip_address": "203.0.113.5",
                               "project_id": PB, "floating_network_id": "e2"}])},
     {}, {("public_ip", "public", "203.0.113.5", (R1, R2))}),
    ("gateway vs floating",
     {R1: region(routers=[{"id": "r1", "project_id": PA, "external_gateway_info": {
         "network_id": "e1", "external_fixed_ips": [{"ip_address": "203.0.113.9"}]}}]),
      R2: region(floatingips=[{"id": "f2", "floating_ip_address": "203.0.113.9",
                               "project_id": PB}])},
     {}, {("public_ip", "public", "203.0.113.9", (R1, R2))}),
    # external subnets are public; floating-IP ports are not counted twice
    ("external subnets",
     {R1: region(net("e1", "admin", external=True), subnet("es1", "203.0.113.0/24", "e1")),
      R2: region(net("e2", "admin", external=True), subnet("es2", "203.0.113.0/24", "e2"),
                 port("fp", "e2", ("es2", "203.0.113.7"), owner="network:floatingip"))},
     {}, {("cidr", "public", "203.0.113.0/24", (R1, R2))}),
    # allowed address pairs: hosts collide, CIDR pairs are only indexed
    ("allowed pairs",
     {R1: region(net("n1"), port("p1", "n1", pairs=["10.9.9.9", "10.8.0.0/16"],
                                 mac="fa:16:3e:00:00:11")),
      R2: region(net("n2"), port("p2", "n2", pairs=["10.9.9.9/32", "10.8.0.0/16"],
                                 mac="fa:16:3e:00:00:22"))},
     {}, {("ip", dom(), "10.9.9.9", (R1, R2))}),
    # three regions holding one address: one conflict with three sides
    ("three regions",
     {r: region(net(f"n{i}"), subnet(f"s{i}", "10.0.0.0/24", f"n{i}"))
      for i, r in enumerate((R1, R2, R3))},
     {}, {("cidr", dom(), "10.0.0.0/24", (R1, R2, R3))}),
]


@pytest.mark.parametrize("name,regions,options,expected", MATRIX, ids=[m[0] for m in MATRIX])
def test_conflicts(name, regions, options, expected):
    expected = {(k, d, a, tuple(sorted(r))) for k, d, a, r in expected}
    assert conflicts(regions, **options) == expected


def test_sides_name_both_ports():
    regions = MATRIX[0][1]
    entries = [e for n, raw in regions.items() for e in addresses.index_entries(n, raw)]
    found = addresses.plan(entries)
    ip = found[f"ip|{dom()}|10.0.0.5"]
    assert [(s.region, s.port_id, s.subnet_id, s.network_id, s.device_id) for s in ip.sides] \
        == [(R1, "p1", "s1", "n1", "dev-p1"), (R2, "p2", "s2", "n2", "dev-p2")]


def test_index_kinds_and_canonical_forms():
    raw = region(net("n1"), subnet("s1", "2001:0db8::/64", "n1",
                                   pools=[("2001:db8::0002", "2001:db8::ff")]),
                 port("p1", "n1", ("s1", "2001:0db8:0:0::1"), mac="FA-16-3E-00-00-01"),
                 floatingips=[{"id": "f1", "floating_ip_address": "198.51.100.2",
                               "fixed_ip_address": "10.0.0.3", "port_id": "p9"}])
    got = {(e.kind, e.address, e.related) for e in addresses.index_entries(R1, raw)}
    assert got == {("subnet", "2001:db8::/64", ""), ("pool", "2001:db8::2-2001:db8::ff", ""),
                   ("fixed_ip", "2001:db8::1", ""), ("mac", MAC1, ""),
                   ("floating_ip", "198.51.100.2", "10.0.0.3")}


@pytest.mark.parametrize("text", ["corp", "corp:network", "corp:host=x", ":tag=x", "c:tag="])
def test_bad_domain_rules(text):
    with pytest.raises(ValueError):
        ad.parse_rule(text)


@pytest.mark.parametrize("text,expected", [
    ("10.0.0.7/24", "10.0.0.0/24"), ("2001:0DB8::/32", "2001:db8::/32")])
def test_canonical_cidr(text, expected):
    assert ad.canonical_cidr(text)[0] == expected


def test_keys_sort_as_addresses():
    first, last = ad.cidr_keys("10.0.0.0/24")
    assert first <= ad.ip_key("10.0.0.255") <= last < ad.ip_key("10.0.1.0") < ad.ip_key("::1")


def test_linear_cost_at_scale():
    """100,000 ports in 10 regions with no conflict, then one planted: found once."""
    regions = {}
    for r in range(10):
        ports = [port(f"p{r}-{i}", "n", ("s", f"10.{r}.{i // 256}.{i % 256}"),
                      mac=f"fa:16:3e:{r:02x}:{i // 256:02x}:{i % 256:02x}")
                 for i in range(10_000)]
        regions[f"R{r}"] = region(net("n"), subnet("s", f"10.{r}.0.0/16", "n"), *ports)
    regions["R9"]["ports"].append(port("dup", "n", ("s", "10.0.0.1"), mac="fa:16:3e:aa:aa:aa"))
    assert conflicts(regions) == {("ip", dom(), "10.0.0.1", ("R0", "R9"))}
