"""Address index and overlap detection: pure functions from Neutron lists to conflicts.

`index_entries()` turns one region's Neutron objects into index entries (one per
address in use, with its routable domain); `plan()` turns the entries of every region
into the conflicts that exist now. Neither does I/O. The cost is linear in the number
of entries (plus, for CIDRs, a sort and a sweep whose stack is at most one prefix
length deep), never quadratic.
"""

import collections
import ipaddress
import sys

from multisite import addressing as ad

FIELDS = ("kind", "address", "version", "region", "project_id", "network_id",
          "subnet_id", "port_id", "device_owner", "device_id", "resource_id", "related",
          "domain")
Entry = collections.namedtuple("Entry", FIELDS)

CONFLICT_IP = "ip"
CONFLICT_CIDR = "cidr"
CONFLICT_MAC = "mac"
CONFLICT_PUBLIC = "public_ip"
CONFLICT_KINDS = (CONFLICT_IP, CONFLICT_CIDR, CONFLICT_MAC, CONFLICT_PUBLIC)

# Ports that only carry an address another object already stands for.
SKIPPED_OWNERS = frozenset(("network:floatingip", "network:router_gateway"))


class Conflict(collections.namedtuple("Conflict", ("kind", "domain", "address", "sides"))):
    """One address (or CIDR) held in two or more regions of one domain."""

    __slots__ = ()

    @property
    def key(self):
        return f"{self.kind}|{self.domain}|{self.address}"

    @property
    def regions(self):
        return sorted({side.region for side in self.sides})


def _networks(raw, rules):
    """{network id: (domain of its addresses, is external)} without address scopes."""
    out = {}
    for net in raw.get("networks", ()):
        external = bool(net.get("router:external"))
        domain = ad.PUBLIC_DOMAIN if external else ad.domain_of(
            rules, project_id=net.get("project_id") or net.get("tenant_id") or "",
            network_name=net.get("name") or "", tags=net.get("tags") or ())
        out[net["id"]] = (domain, external, net)
    return out


def _subnet_domains(raw, rules, networks):
    """{subnet id: domain}: operator rules, else the pool's address scope, else default."""
    scopes = {s["id"]: s.get("name") or s["id"] for s in raw.get("address_scopes", ())}
    pool_scope = {}
    for pool in raw.get("subnetpools", ()):
        scope_id = pool.get("address_scope_id")
        if scope_id:
            pool_scope[pool["id"]] = scopes.get(scope_id, scope_id)
    out = {}
    for subnet in raw.get("subnets", ()):
        domain, external, net = networks.get(subnet.get("network_id"), (None, False, {}))
        if external:
            out[subnet["id"]] = ad.PUBLIC_DOMAIN
            continue
        out[subnet["id"]] = ad.domain_of(
            rules, project_id=net.get("project_id") or subnet.get("project_id") or "",
            network_name=net.get("name") or "", tags=net.get("tags") or (),
            scope=pool_scope.get(subnet.get("subnetpool_id") or "", ""))
    return out


def index_entries(region, raw, rules=()):
    """Entries of one region from its Neutron lists.

    raw: {"networks", "subnets", "ports", "floatingips", "routers", "subnetpools",
    "address_scopes": [Neutron objects as listed by an admin]}. Unparsable addresses
    are skipped (Neutron validated them; a value we cannot read is not an address).
    """
    networks = _networks(raw, rules)
    subnet_domain = _subnet_domains(raw, rules, networks)
    out = []
    add = out.append
    for subnet in raw.get("subnets", ()):
        try:
            cidr, version = ad.canonical_cidr(subnet["cidr"])
        except (KeyError, ValueError):
            continue
        project = subnet.get("project_id") or ""
        domain = subnet_domain[subnet["id"]]
        net_id = subnet.get("network_id") or ""
        add(Entry(ad.SUBNET, cidr, version, region, project, net_id, subnet["id"], "", "",
                  "", subnet["id"], "", domain))
        for pool in subnet.get("allocation_pools") or ():
            try:
                start, _ = ad.canonical_ip(pool["start"])
                end, _ = ad.canonical_ip(pool["end"])
            except (KeyError, ValueError):
                continue
            add(Entry(ad.POOL, f"{start}-{end}", version, region, project, net_id,
                      subnet["id"], "", "", "", subnet["id"], "", domain))
    # A port's project, network, owner and subnet ids repeat across thousands of ports,
    # but each decoded port holds its own copy: the entries share one (an index of a
    # million ports keeps a few hundred MiB less alive). Entries are built with
    # tuple.__new__, without the namedtuple constructor's Python frame.
    share, new = sys.intern, tuple.__new__
    fixed_kind, public_kind, mac_kind = ad.FIXED_IP, ad.PUBLIC_IP, ad.MAC
    canonical_ip, canonical_mac = ad.canonical_ip, ad.canonical_mac
    for port in raw.get("ports", ()):
        get = port.get
        owner = get("device_owner") or ""
        if owner in SKIPPED_OWNERS:
            continue
        owner = share(owner)
        project = share(get("project_id") or get("tenant_id") or "")
        net_id = share(get("network_id") or "")
        net_domain, external, _net = networks.get(net_id, (None, False, {}))
        kind = public_kind if external else fixed_kind
        port_domain = net_domain
        device = get("device_id") or ""
        port_id = port["id"]
        for fixed in get("fixed_ips") or ():
            try:
                ip, version = canonical_ip(fixed["ip_address"])
            except (KeyError, ValueError):
                continue
            subnet_id = share(fixed.get("subnet_id") or "")
            domain = ad.PUBLIC_DOMAIN if external else subnet_domain.get(subnet_id, net_domain)
            port_domain = port_domain or domain
            if domain is None:
                continue
            add(new(Entry, (kind, ip, version, region, project, net_id, subnet_id, port_id,
                            owner, device, port_id, "", domain)))
        if port_domain is None:
            port_domain = ad.domain_of(rules, project_id=project)
        for pair in get("allowed_address_pairs") or ():
            text = str(pair.get("ip_address") or "")
            try:
                if "/" in text:
                    net = ipaddress.ip_network(text, strict=False)
                    is_host = net.prefixlen == net.max_prefixlen
                    address = str(net.network_address) if is_host else str(net)
                    version = net.version
                else:
                    address, version = canonical_ip(text)
            except ValueError:
                continue
            add(Entry(ad.ALLOWED_PAIR, address, version, region, project, net_id, "",
                      port_id, owner, device, port_id, "", port_domain))
        try:
            mac = canonical_mac(get("mac_address") or "")
        except ValueError:
            mac = None
        if mac:
            add(new(Entry, (mac_kind, mac, 0, region, project, net_id, "", port_id, owner,
                            device, port_id, "", port_domain)))
    for fip in raw.get("floatingips", ()):
        try:
            ip, version = ad.canonical_ip(fip["floating_ip_address"])
        except (KeyError, ValueError):
            continue
        fixed = fip.get("fixed_ip_address") or ""
        add(Entry(ad.FLOATING_IP, ip, version, region,
                  fip.get("project_id") or fip.get("tenant_id") or "",
                  fip.get("floating_network_id") or "", "", fip.get("port_id") or "",
                  "network:floatingip", fip.get("router_id") or "", fip["id"], fixed,
                  ad.PUBLIC_DOMAIN))
    for router in raw.get("routers", ()):
        gateway = router.get("external_gateway_info") or {}
        for fixed in gateway.get("external_fixed_ips") or ():
            try:
                ip, version = ad.canonical_ip(fixed["ip_address"])
            except (KeyError, ValueError):
                continue
            add(Entry(ad.GATEWAY_IP, ip, version, region,
                      router.get("project_id") or router.get("tenant_id") or "",
                      gateway.get("network_id") or "", fixed.get("subnet_id") or "", "",
                      "network:router_gateway", router["id"], router["id"], "",
                      ad.PUBLIC_DOMAIN))
    return out


def _group_conflicts(groups, kind):
    out = []
    for (domain, address), sides in groups.items():
        if len({s.region for s in sides}) > 1:
            out.append(Conflict(kind, domain, address, tuple(sorted(sides))))
    return out


def _same_address(entries, *, mac_scope):
    """Host addresses, public addresses and MACs held in two regions of one domain.

    One pass; per conflict kind and domain a dict of address -> first entry (no key
    tuples: at a million addresses the keys would cost more than the entries).
    """
    first = {CONFLICT_IP: {}, CONFLICT_PUBLIC: {}, CONFLICT_MAC: {}}
    groups = {CONFLICT_IP: {}, CONFLICT_PUBLIC: {}, CONFLICT_MAC: {}}
    global_mac = mac_scope == "global"
    for entry in entries:
        kind = entry.kind
        if kind in ad.HOST_KINDS:
            if "/" in entry.address:
                continue
            conflict_kind, domain = CONFLICT_IP, entry.domain
        elif kind in ad.PUBLIC_KINDS:
            conflict_kind, domain = CONFLICT_PUBLIC, ad.PUBLIC_DOMAIN
        elif kind == ad.MAC:
            conflict_kind = CONFLICT_MAC
            domain = ad.GLOBAL_DOMAIN if global_mac else entry.domain
        else:
            continue
        seen = first[conflict_kind].get(domain)
        if seen is None:
            seen = first[conflict_kind][domain] = {}
        held = seen.setdefault(entry.address, entry)
        if held is not entry:
            key = (domain, entry.address)
            found = groups[conflict_kind]
            if key in found:
                found[key].append(entry)
            else:
                found[key] = [held, entry]
    out = []
    for conflict_kind, found in groups.items():
        out.extend(_group_conflicts(found, conflict_kind))
    return out


def _overlapping_subnets(entries):
    """Subnet CIDRs of two regions that overlap within one domain.

    CIDRs are nested or disjoint, so the overlap of two is the smaller one. Per domain
    and IP version the distinct CIDRs are swept in address order with a stack of the
    ones that contain the current CIDR (at most one per prefix length).
    """
    by_domain = collections.defaultdict(dict)
    for entry in entries:
        if entry.kind == ad.SUBNET:
            by_domain[(entry.domain, entry.version)].setdefault(entry.address, []).append(entry)
    out = []
    for (domain, _version), cidrs in by_domain.items():
        nets = sorted((ipaddress.ip_network(c) for c in cidrs),
                      key=lambda n: (int(n.network_address), n.prefixlen))
        stack = []
        for net in nets:
            while stack and int(stack[-1][0].broadcast_address) < int(net.network_address):
                stack.pop()
            own = cidrs[str(net)]
            own_regions = {e.region for e in own}
            outer = [e for _n, held in stack for e in held
                     if len(own_regions) > 1 or e.region not in own_regions]
            if len(own_regions) > 1 or outer:
                out.append(Conflict(CONFLICT_CIDR, domain, str(net),
                                    tuple(sorted(own + outer))))
            stack.append((net, own))
    return out


def plan(entries, *, mac_scope="domain"):
    """{conflict key: Conflict} of every conflict the entries hold (pure, linear).

    mac_scope: "domain" (a MAC collides only within one routable domain) or "global".
    """
    entries = list(entries)
    conflicts = _same_address(entries, mac_scope=mac_scope) + _overlapping_subnets(entries)
    return {c.key: c for c in conflicts}
