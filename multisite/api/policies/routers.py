"""Policies of /v2/routers (the big region's top routers as the pods hold them)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:routers:%s"
TOPOLOGY = PREFIX % "topology"
TOPOLOGY_ALL_PROJECTS = PREFIX % "topology_all_projects"

PATH = "/v2/routers/{router_id}/topology"

rules = [
    policy.DocumentedRuleDefault(
        TOPOLOGY, base.ADMIN_OR_READER,
        "Show a top router in every pod (bottom router, bridge IP, interfaces, routes), "
        "read live, and whether each pod matches the top (drift).",
        [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(
        TOPOLOGY_ALL_PROJECTS, base.ADMIN,
        "Show the topology of a router of any project (else a router of another project "
        "is a 404).",
        [{"method": "GET", "path": PATH}]),
]


def list_rules():
    return rules
