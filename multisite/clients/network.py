"""Neutron in one region: a project's security groups and their rules, service credentials."""

import collections
import json as jsonlib
import threading
from urllib import parse

from multisite.clients import http, session

# Rule attributes a copy carries (the rest are computed by Neutron or mapped by name).
RULE_FIELDS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
               "remote_ip_prefix", "remote_group_id", "remote_address_group_id",
               "description")

_LOCK = threading.Lock()
# Write calls made by this process, per (region, method): tests and benchmarks read it to
# show that a converged target costs no write.
WRITES = collections.Counter()


def _count(region, method):
    with _LOCK:
        WRITES[(region, method)] += 1


def writes(region=None):
    """Write calls counted so far (to `region`, or every region)."""
    with _LOCK:
        return sum(n for (r, _), n in WRITES.items() if region is None or r == region)


def normalize_rule(raw):
    rule = dict(zip(RULE_FIELDS, map(raw.get, RULE_FIELDS), strict=True))  # fast: audits
    rule["id"] = raw["id"]
    rule["description"] = rule["description"] or ""
    return rule


def normalize_group(raw):
    return {"id": raw["id"], "name": raw["name"], "description": raw.get("description") or "",
            "stateful": raw.get("stateful", True),
            "revision_number": raw.get("revision_number"),
            "rules": [normalize_rule(r) for r in raw.get("security_group_rules", [])]}


def _parse_groups(body):
    return [normalize_group(g) for g in jsonlib.loads(body)["security_groups"]]


class NetworkClient:
    """The calls the security-group reconciler needs, in one region."""

    def __init__(self, conf, region):
        self.region = region
        self._api = session.PooledApi(conf, "network", region)
        self._base = None

    def _url(self, path):
        if self._base is None:
            self._base = session.versioned_endpoint(self._api, self.region, "network", "v2.0")
        return self._base + path

    def list_security_groups(self, project_id):
        """Every security group of the project with its rules: one call.

        Neutron creates the project's `default` group on this read if it has none yet.
        """
        return self.read_security_groups(project_id).items

    def read_security_groups(self, project_id):
        """The same call as an http.Listing: its `digest` tells an audit that the groups
        are those it saw last time without parsing them; `items` are the groups."""
        path = f"/security-groups?project_id={parse.quote(project_id)}"
        with session.translate(self.region, f"list security groups of {project_id}"):
            body = self._api.get(self._url(path)).data
        return http.Listing(body, _parse_groups)

    def create_security_group(self, project_id, *, name, description, stateful):
        body = {"security_group": {"name": name, "description": description,
                                   "stateful": stateful, "project_id": project_id}}
        _count(self.region, "POST")
        with session.translate(self.region, f"create security group {name}"):
            raw = self._api.post(self._url("/security-groups"), json=body).json()
        return normalize_group(raw["security_group"])

    def update_security_group(self, group_id, **changes):
        _count(self.region, "PUT")
        with session.translate(self.region, f"update security group {group_id}"):
            self._api.put(self._url(f"/security-groups/{parse.quote(group_id)}"),
                          json={"security_group": changes})

    def create_rules(self, project_id, rules):
        """Create rules (dicts of RULE_FIELDS plus security_group_id) in one bulk call."""
        body = {"security_group_rules": [
            {k: v for k, v in dict(r, project_id=project_id).items() if v is not None}
            for r in rules]}
        _count(self.region, "POST")
        with session.translate(self.region, f"create {len(rules)} security group rules"):
            created = self._api.post(self._url("/security-group-rules"), json=body).json()
        return [normalize_rule(r) for r in created["security_group_rules"]]

    def delete_security_group(self, group_id):
        _count(self.region, "DELETE")
        with session.translate(self.region, f"delete security group {group_id}"):
            self._api.delete(self._url(f"/security-groups/{parse.quote(group_id)}"))

    def delete_rule(self, rule_id):
        _count(self.region, "DELETE")
        with session.translate(self.region, f"delete security group rule {rule_id}"):
            self._api.delete(self._url(f"/security-group-rules/{parse.quote(rule_id)}"))


def for_region(conf, region):
    """The network client of `region` (tests replace this with an in-memory cloud)."""
    return NetworkClient(conf, region)
