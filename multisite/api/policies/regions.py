"""Policies of /v2/regions (health of every region) and /v2/capacity."""

from oslo_policy import policy

from multisite.api.policies import base

LIST = "multisite:regions:list"
SHOW = "multisite:regions:show"
CAPACITY = "multisite:capacity:show"

rules = [
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER,
        "List the regions with the health of their services (any user with a role in "
        "the token's project).", [{"method": "GET", "path": "/v2/regions"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER, "Show one region's health.",
        [{"method": "GET", "path": "/v2/regions/{name}"}]),
    policy.DocumentedRuleDefault(
        CAPACITY, base.ADMIN,
        "Show capacity and utilization per region and summed (hypervisors, storage "
        "pools, IP availability, images: admin figures in every region).",
        [{"method": "GET", "path": "/v2/capacity"},
         {"method": "GET", "path": "/v2/capacity/{name}"}]),
]


def list_rules():
    return rules
