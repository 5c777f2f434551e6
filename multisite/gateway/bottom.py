"""What a pod's bottom copy of a top network, subnet, security group and port is, and which
entries of a server's `networks` the gateway realises: pure functions of the top's items
(tested without I/O), used by the network proxy (neutron.py)."""

import ipaddress

from multisite.gateway import faults

AZ_TAG = "multisite-az:"


def zones_of(network):
    """A top network's zones: its hints, else the gateway's tags."""
    hints = network.get("availability_zone_hints") or []
    return hints or [t[len(AZ_TAG):] for t in network.get("tags") or []
                     if t.startswith(AZ_TAG)]


def network_body(top):
    return {"name": top["id"], "project_id": top["project_id"],
            "admin_state_up": top.get("admin_state_up", True),
            "shared": top.get("shared", False),
            "description": f"multisite: top network {top.get('name') or top['id']}"}


PROVIDER_FIELDS = ("provider:network_type", "provider:physical_network",
                   "provider:segmentation_id")


def external_network_body(top):
    """The pod's copy of a top external network (north-south, docs/networking.md): the
    same provider network (the pod's physnet) and `router:external`."""
    body = dict(network_body(top), **{"router:external": True})
    body.update({f: top[f] for f in PROVIDER_FIELDS if top.get(f) is not None})
    return body


def subnet_body(top, bottom_network):
    body = {"name": top["id"], "network_id": bottom_network,
            "project_id": top["project_id"], "ip_version": top["ip_version"],
            "cidr": top["cidr"], "gateway_ip": top.get("gateway_ip"),
            "allocation_pools": top.get("allocation_pools") or [],
            "enable_dhcp": top.get("enable_dhcp", True),
            "dns_nameservers": top.get("dns_nameservers") or [],
            "host_routes": top.get("host_routes") or [],
            "description": f"multisite: top subnet {top.get('name') or top['id']}"}
    for name in ("ipv6_address_mode", "ipv6_ra_mode"):
        if top.get(name):
            body[name] = top[name]
    return body


def group_body(top):
    return {"name": top["id"], "project_id": top["project_id"],
            "description": f"multisite: top security group {top.get('name') or top['id']}"}


RULE_FIELDS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
               "remote_ip_prefix")


def missing_rules(top_group, bottom_group):
    """Rule bodies the bottom group lacks (a rule naming its own group names the bottom
    group; a rule naming another group is not copied: cross-group rules need that group
    realised too, not done)."""
    def key(rule, own):
        remote = rule.get("remote_group_id")
        return tuple(rule.get(f) for f in RULE_FIELDS) + ("self" if remote == own
                                                          else remote,)
    have = {key(r, bottom_group["id"]) for r in bottom_group.get("security_group_rules", [])}
    wanted = []
    for rule in top_group.get("security_group_rules", []):
        remote = rule.get("remote_group_id")
        if remote and remote != top_group["id"]:
            continue
        if key(rule, top_group["id"]) in have:
            continue
        body = {f: rule.get(f) for f in RULE_FIELDS if rule.get(f) is not None}
        body.update(security_group_id=bottom_group["id"], project_id=top_group["project_id"])
        if remote:
            body["remote_group_id"] = bottom_group["id"]
        wanted.append(body)
    return wanted


def port_body(top, bottom_network, subnets, groups):
    """The bottom port of a top port: same MAC and fixed IPs (`subnets`, `groups`: top id
    -> bottom id)."""
    body = {"name": top["id"], "network_id": bottom_network, "project_id": top["project_id"],
            "mac_address": top["mac_address"],
            "fixed_ips": [{"subnet_id": subnets[ip["subnet_id"]],
                           "ip_address": ip["ip_address"]} for ip in top["fixed_ips"]],
            "admin_state_up": top.get("admin_state_up", True),
            "description": f"multisite: top port {top['id']}"}
    if top.get("port_security_enabled") is False:
        body["port_security_enabled"] = False
    else:
        body["security_groups"] = [groups[g] for g in top.get("security_groups") or []]
    return body


def requested(networks):
    """The entries of a server's `networks` to realise ([] for none); a 400 otherwise."""
    if networks is None or networks == "none":
        return []
    if networks == "auto":
        raise faults.Fault(400, "networks 'auto' is not supported through the Multisite "
                                "gateway: give a top network (--nic net-id=...) or a top "
                                "port (--nic port-id=...), or none")
    if not isinstance(networks, list) or not all(
            isinstance(n, dict) and isinstance(n.get("port") or n.get("uuid"), str)
            for n in networks):
        raise faults.Fault(400, "Invalid input: networks must be 'none', 'auto' or a list "
                                "of {\"uuid\": ...} / {\"port\": ...}")
    return networks


def overlapping(subnet, others):
    """The subnets of `others` (top subnets already on the router) whose CIDR overlaps
    `subnet`'s (the subnet itself excluded): routed together, they could not be told
    apart by the pods' extra routes."""
    mine = ipaddress.ip_network(subnet["cidr"], strict=False)
    return [o for o in others if o["id"] != subnet["id"]
            and o.get("ip_version", 4) == subnet.get("ip_version", 4)
            and mine.overlaps(ipaddress.ip_network(o["cidr"], strict=False))]


def bridge_segment(network, *, network_type, physical_network):
    """The segmentation id that `network` (a top network or the body of its create or
    update) asks on the bridges' provider network (`network_type` on `physical_network`),
    as its provider attributes or one of its `segments`; None if it asks none."""
    segments = network.get("segments")
    for seg in [network, *(segments if isinstance(segments, list) else [])]:
        if not isinstance(seg, dict) or (
                seg.get("provider:network_type"), seg.get("provider:physical_network")) != (
                network_type, physical_network):
            continue
        try:
            return int(seg["provider:segmentation_id"])
        except (KeyError, TypeError, ValueError):
            continue                        # none asked, or Neutron's 400 says why
    return None
