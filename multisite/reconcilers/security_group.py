"""Security-group sync: a group, the groups its rules reference, and every rule, by name.

A rule that references a group (`remote_group_id`, the group itself included) names the
target's group of the same name, so the referenced groups are synced with it (in a cycle
both groups are created first, then the rules). Rules compare in canonical form: protocol
names and numbers, prefixes in network form, `0.0.0.0/0` / `::/0` as "any", as Neutron's
own duplicate check does. The project's `default` group is never created: Neutron makes it,
and its rules are reconciled.

`plan()` is pure; `apply()` reads each region once (one list call per region), writes only
differences, and records the groups it creates (`target_id`) before creating them, so a
retry after a crash adopts its own half-made groups instead of failing on them.
"""

import dataclasses
import functools
import ipaddress

from multisite.clients import session as region_errors
from multisite.reconcilers import PermanentError, TemporaryError

DEFAULT = "default"
PROTOCOLS = {"hopopt": 0, "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17,
             "ipv6-encap": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47,
             "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "ipv6-nonxt": 59,
             "ipv6-opts": 60, "ospf": 89, "pgm": 113, "vrrp": 112, "sctp": 132,
             "dccp": 33, "udplite": 136}
ANY_PREFIXES = ("0.0.0.0/0", "::/0")


@functools.lru_cache(maxsize=4096)
def protocol_number(protocol, ethertype):
    """None for any protocol, else its number (`icmp` in an IPv6 rule is ICMPv6)."""
    if protocol in (None, "", "any"):
        return None
    value = str(protocol).lower()
    number = int(value) if value.isdigit() else PROTOCOLS.get(value)
    if number is None:
        raise PermanentError(f"unknown protocol {protocol!r} in a security group rule")
    if number == 1 and ethertype == "IPv6":
        return 58
    return number


@functools.lru_cache(maxsize=65536)   # audits compare the same prefixes over and over
def canonical_prefix(prefix):
    if not prefix:
        return None
    network = str(ipaddress.ip_network(prefix, strict=False))
    return None if network in ANY_PREFIXES else network


def rule_key(rule, remote):
    """The identity of a rule (description aside); `remote` names its remote group."""
    port_min, port_max = rule.get("port_range_min"), rule.get("port_range_max")
    return (rule["direction"], rule["ethertype"],
            protocol_number(rule.get("protocol"), rule["ethertype"]),
            None if port_min is None else int(port_min),
            None if port_max is None else int(port_max),
            canonical_prefix(rule.get("remote_ip_prefix")), remote)


def describe(key):
    direction, ethertype, proto, port_min, port_max, prefix, remote = key
    names = {v: k for k, v in reversed(PROTOCOLS.items())}
    text = f"{direction} {ethertype} {names.get(proto, proto) if proto is not None else 'any'}"
    if port_min is not None or port_max is not None:
        text += f" {port_min}-{port_max}"
    if remote is not None:
        return text + f" from group {remote}"
    return text + f" from {prefix or 'any'}"


@dataclasses.dataclass
class Plan:
    create: list = dataclasses.field(default_factory=list)   # source groups to create
    update: list = dataclasses.field(default_factory=list)   # (name, {attr: value})
    delete: list = dataclasses.field(default_factory=list)   # target rule ids
    add: list = dataclasses.field(default_factory=list)      # (group name, source rule)
    conflict: str = None

    @property
    def writes(self):
        return len(self.create) + len(self.update) + len(self.delete) + len(self.add)


def _keyed(group, names_by_id):
    """{key: rule} of a group's rules, remote groups named through `names_by_id`."""
    keyed = {}
    for rule in group["rules"]:
        remote_id = rule.get("remote_group_id")
        remote = None if not remote_id else names_by_id.get(remote_id, f"id:{remote_id}")
        keyed[rule_key(rule, remote)] = rule
    return keyed


def diff(desired, observed, desired_names, observed_names):
    """What differs between two same-named groups: (attrs, missing, extra, changed)."""
    attrs = {k: desired[k] for k in ("description", "stateful")
             if desired[k] != observed[k] and not (desired["name"] == DEFAULT
                                                   and k == "description")}
    want, have = _keyed(desired, desired_names), _keyed(observed, observed_names)
    missing = [k for k in want if k not in have]
    extra = [k for k in have if k not in want]
    changed = [k for k in want if k in have
               and (want[k].get("description") or "") != (have[k].get("description") or "")]
    return attrs, missing, extra, changed, want, have


def explain(name, attrs, missing, extra, changed):
    parts = [f"{attr} differs" for attr in sorted(attrs)]
    if missing:
        parts.append("missing rules: " + "; ".join(describe(k) for k in sorted(missing, key=str)))
    if extra:
        parts.append("extra rules: " + "; ".join(describe(k) for k in sorted(extra, key=str)))
    if changed:
        parts.append("rule descriptions differ: " + "; ".join(describe(k) for k in changed))
    return f"security group {name} differs in the target ({', '.join(parts)})"


def plan(desired, observed, *, force, ours):
    """The writes that make the target hold the `desired` groups; no I/O.

    desired: source groups (the closure of one group under remote-group references);
    observed: every group of the project in the target. Both hold raw rule ids, mapped
    to names here. `ours`: names of groups an earlier attempt of this row created.
    A same-named group that differs is a conflict (naming the difference) unless `force`
    or `ours`; the `default` group may gain missing rules without force.
    """
    desired_names = {g["id"]: g["name"] for g in desired}
    observed_names = {g["id"]: g["name"] for g in observed}
    by_name = {}
    for group in observed:
        by_name.setdefault(group["name"], []).append(group)
    result, problems = Plan(), []
    for group in sorted(desired, key=lambda g: g["name"]):
        name = group["name"]
        found = by_name.get(name, [])
        if len(found) > 1:
            problems.append(f"{len(found)} security groups named {name} in the target")
            continue
        if not found:
            if name == DEFAULT:
                problems.append("the target has no default security group yet")
                continue
            result.create.append(group)
            result.add.extend((name, r) for r in group["rules"])
            continue
        attrs, missing, extra, changed, want, have = diff(group, found[0], desired_names,
                                                         observed_names)
        free = force or name in ours
        if not free and (attrs or extra or changed or (missing and name != DEFAULT)):
            problems.append(explain(name, attrs, missing, extra, changed))
            continue
        if attrs:
            result.update.append((name, attrs))
        result.delete.extend(have[k]["id"] for k in [*extra, *changed])
        result.add.extend((name, want[k]) for k in [*missing, *changed])
    if problems:
        return Plan(conflict="; ".join(problems))
    return result


# -- the audits' fast path ------------------------------------------------------------------
def shapes(groups):
    """{name: (description, stateful, rules, referenced names)} of a region's group list,
    remote groups named; a name held by several groups, or a group with a rule that
    plan() would refuse (a remote address group, an unknown protocol), maps to None.
    Computed once per list, so an audit compares each target's groups in O(1)."""
    names = {g["id"]: g["name"] for g in groups}
    out = {}
    for group in groups:
        if group["name"] in out:
            out[group["name"]] = None
            continue
        rules, refs = set(), set()
        try:
            for rule in group["rules"]:
                if rule.get("remote_address_group_id"):
                    raise PermanentError("remote address group")
                remote_id = rule.get("remote_group_id")
                remote = None if not remote_id else names.get(remote_id, f"id:{remote_id}")
                if remote is not None:
                    refs.add(remote)
                rules.add((rule_key(rule, remote), rule.get("description") or ""))
        except PermanentError:
            out[group["name"]] = None
            continue
        out[group["name"]] = (group["description"], group["stateful"], frozenset(rules),
                              frozenset(refs))
    return out


def same_closure(name, source, target):
    """The names of `name`'s closure when the target holds every group of it exactly as
    the source does (plan() would write nothing), else None: then plan() decides.

    source and target are shapes() of the two regions' lists."""
    todo, seen = [name], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        want, have = source.get(current), target.get(current)
        if want is None or have is None:
            return None
        if want[1:3] != have[1:3] or (want[0] != have[0] and current != DEFAULT):
            return None
        todo.extend(want[3])
    return seen


# -- reading the regions --------------------------------------------------------------------
def find(groups, resource):
    """The group named or with the id `resource`; PermanentError if none or ambiguous."""
    by_id = [g for g in groups if g["id"] == resource]
    if by_id:
        return by_id[0]
    named = [g for g in groups if g["name"] == resource]
    if len(named) > 1:
        raise PermanentError(f"{len(named)} security groups named {resource}; use its id")
    return named[0] if named else None


def closure(groups, start):
    """`start` and every group its rules reference, transitively (cycles included)."""
    by_id = {g["id"]: g for g in groups}
    found, todo = {}, [start]
    while todo:
        group = todo.pop()
        if group["id"] in found:
            continue
        found[group["id"]] = group
        for rule in group["rules"]:
            if rule.get("remote_address_group_id"):
                raise PermanentError(f"security group {group['name']} has a rule with a "
                                     "remote address group, which is not synced")
            remote = rule.get("remote_group_id")
            if remote and remote not in found:
                if remote not in by_id:
                    raise PermanentError(f"security group {group['name']} references group "
                                         f"{remote}, which is not in the project")
                todo.append(by_id[remote])
    result = list(found.values())
    names = [g["name"] for g in result]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise PermanentError("several referenced security groups share the name "
                             + ", ".join(duplicated) + "; names must be unique to sync")
    return result


def check_source(regions, *, region, resource, user_id, project_id):
    """(visible, None): is there a group named (or with the id) `resource` in the source?"""
    try:
        groups = regions.network(region).list_security_groups(project_id)
        return find(groups, resource) is not None, None
    except (region_errors.NotFound, region_errors.BadRequest, PermanentError):
        return False, None


# -- applying -------------------------------------------------------------------------------
def _recorded(item):
    return [n for n in (item.get("target_id") or "").split(",") if n]


def _rule_body(rule, group_id, ids_by_name):
    body = {k: rule.get(k) for k in ("direction", "ethertype", "protocol", "port_range_min",
                                     "port_range_max", "remote_ip_prefix", "description")}
    body["security_group_id"] = group_id
    if rule.get("remote_name"):
        body["remote_group_id"] = ids_by_name[rule["remote_name"]]
    return body


def converge(item, regions, record_target, *, source_groups, desired, observed):
    """Create groups, then fix their rules; returns the number of writes made."""
    project_id, force = item["project_id"], item["force"]
    target = regions.network(item["target_region"])
    recorded = _recorded(item)
    result = plan(desired, observed, force=force, ours=set(recorded))
    if result.conflict:
        raise PermanentError(result.conflict)
    writes = 0
    if result.create:
        recorded = sorted(set(recorded) | {g["name"] for g in result.create})
        record_target(",".join(recorded))
        for group in result.create:
            observed = [*observed, target.create_security_group(
                project_id, name=group["name"], description=group["description"],
                stateful=group["stateful"])]
            writes += 1
        # Neutron gives a new group default egress rules: plan again against them
        result = plan(desired, observed, force=force, ours=set(recorded))
        if result.conflict:
            raise TemporaryError(result.conflict)
    ids_by_name = {g["name"]: g["id"] for g in observed}
    for name, changes in result.update:
        target.update_security_group(ids_by_name[name], **changes)
        writes += 1
    for rule_id in result.delete:
        try:
            target.delete_rule(rule_id)
        except region_errors.NotFound:
            pass
        writes += 1
    if result.add:
        names = {g["id"]: g["name"] for g in source_groups}
        bodies = [_rule_body(dict(rule, remote_name=names.get(rule.get("remote_group_id"))),
                             ids_by_name[name], ids_by_name) for name, rule in result.add]
        writes += _create_rules(target, project_id, bodies)
    return writes


def _create_rules(target, project_id, bodies):
    """One bulk call per group (Neutron takes one group's rules per call); on a 409 (a
    rule made meanwhile, e.g. by our earlier attempt) one by one, duplicates skipped."""
    by_group = {}
    for body in bodies:
        by_group.setdefault(body["security_group_id"], []).append(body)
    calls = 0
    for group_bodies in by_group.values():
        calls += 1
        try:
            target.create_rules(project_id, group_bodies)
            continue
        except region_errors.Conflict:
            pass
        for body in group_bodies:
            calls += 1
            try:
                target.create_rules(project_id, [body])
            except region_errors.Conflict:
                pass
    return calls


def apply(item, regions, record_target):
    """Converge one row (group `resource` from source to target); returns its name."""
    project_id = item["project_id"]
    source_groups = regions.network(item["source_region"]).list_security_groups(project_id)
    group = find(source_groups, item["resource"])
    if group is None:
        raise PermanentError(f"security group {item['resource']} not found in "
                             f"{item['source_region']}")
    desired = closure(source_groups, group)
    observed = regions.network(item["target_region"]).list_security_groups(project_id)
    converge(item, regions, record_target, source_groups=source_groups, desired=desired,
             observed=observed)
    return group["name"]
