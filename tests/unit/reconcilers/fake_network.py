"""An in-memory Neutron at the clients/ boundary: a project's security groups and rules.

Behaves as Neutron does where the reconciler depends on it: listing creates the project's
`default` group, a new group gets the two default egress rules, a duplicate rule is a 409
(protocol names and numbers, and "any" prefixes, compare equal), and every call is logged.
"""

import threading
import uuid

from multisite.clients import http
from multisite.clients import session as region_errors

NUMBERS = {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "ipv6-icmp": "58"}


def _dup_key(rule):
    prefix = rule.get("remote_ip_prefix")
    proto = rule.get("protocol")
    return (rule["security_group_id"], rule["direction"], rule["ethertype"],
            NUMBERS.get(proto, proto), rule.get("port_range_min"), rule.get("port_range_max"),
            None if prefix in ("0.0.0.0/0", "::/0") else prefix, rule.get("remote_group_id"))


class FakeNeutron:
    def __init__(self, regions=("RegionOne", "RegionTwo", "RegionThree")):
        self.groups = {r: {} for r in regions}   # id -> group (rules inline)
        self.down = set()
        self.calls = []
        self.lock = threading.RLock()

    def client(self, region):
        return FakeNetwork(self, region)

    def check(self, region, what):
        self.calls.append((region, what))
        if region in self.down:
            raise region_errors.Unavailable(region, f"unreachable during {what}")

    def writes(self, region=None):
        return [c for c in self.calls if c[1].split()[0] in ("create", "update", "delete")
                and (region is None or c[0] == region)]

    # -- seeding -------------------------------------------------------------------------
    def add_group(self, region, project_id, name, *, description="", stateful=True,
                  egress=True):
        group = {"id": str(uuid.uuid4()), "name": name, "description": description,
                 "stateful": stateful, "project_id": project_id, "revision_number": 0,
                 "rules": []}
        self.groups[region][group["id"]] = group
        if egress:
            for ethertype in ("IPv4", "IPv6"):
                self.add_rule(region, group["id"], direction="egress", ethertype=ethertype)
        return group

    def add_rule(self, region, group_id, **fields):
        group = self.groups[region][group_id]
        rule = {"id": str(uuid.uuid4()), "security_group_id": group_id, "protocol": None,
                "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
                "remote_group_id": None, "remote_address_group_id": None,
                "description": "", **fields}
        if any(_dup_key(r) == _dup_key(rule) for r in group["rules"]):
            raise region_errors.Conflict(region, "duplicate rule", status=409)
        group["rules"].append(rule)
        group["revision_number"] += 1
        return rule

    def named(self, region, name):
        found = [g for g in self.groups[region].values() if g["name"] == name]
        assert len(found) == 1, found
        return found[0]


class FakeNetwork:
    def __init__(self, neutron, region):
        self.neutron, self.region = neutron, region

    def list_security_groups(self, project_id):
        with self.neutron.lock:
            self.neutron.check(self.region, "list security groups")
            mine = [g for g in self.neutron.groups[self.region].values()
                    if g["project_id"] == project_id]
            if not any(g["name"] == "default" for g in mine):
                mine.append(self.neutron.add_group(self.region, project_id, "default",
                                                   description="Default security group"))
            return [_copy(g) for g in mine]

    def read_security_groups(self, project_id):
        return http.Listing.of(self.list_security_groups(project_id))

    def create_security_group(self, project_id, *, name, description, stateful):
        with self.neutron.lock:
            self.neutron.check(self.region, f"create group {name}")
            return _copy(self.neutron.add_group(self.region, project_id, name,
                                                description=description, stateful=stateful))

    def update_security_group(self, group_id, **changes):
        with self.neutron.lock:
            self.neutron.check(self.region, f"update group {group_id}")
            self.neutron.groups[self.region][group_id].update(changes)

    def create_rules(self, project_id, rules):
        with self.neutron.lock:
            self.neutron.check(self.region, f"create {len(rules)} rules")
            if len({r["security_group_id"] for r in rules}) > 1:
                raise region_errors.BadRequest(self.region, "rules of several groups",
                                               status=400)
            keys = [_dup_key(r) for r in rules]
            for rule in rules:
                group = self.neutron.groups[self.region][rule["security_group_id"]]
                if any(_dup_key(r) == _dup_key(rule) for r in group["rules"]) or \
                        keys.count(_dup_key(rule)) > 1:
                    raise region_errors.Conflict(self.region, "duplicate rule", status=409)
            return [dict(self.neutron.add_rule(self.region, r["security_group_id"],
                                               **{k: v for k, v in r.items()
                                                  if k not in ("security_group_id",
                                                               "project_id")}))
                    for r in rules]

    def delete_rule(self, rule_id):
        with self.neutron.lock:
            self.neutron.check(self.region, f"delete rule {rule_id}")
            for group in self.neutron.groups[self.region].values():
                for rule in group["rules"]:
                    if rule["id"] == rule_id:
                        group["rules"].remove(rule)
                        group["revision_number"] += 1
                        return
            raise region_errors.NotFound(self.region, f"rule {rule_id}", status=404)


def _copy(group):
    return {**group, "rules": [dict(r) for r in group["rules"]]}
