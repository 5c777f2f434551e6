"""Policies of os-quota-sets."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:quotas:%s"
DEFAULTS = PREFIX % "defaults"
SHOW = PREFIX % "show"
DETAIL = PREFIX % "detail"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"
SYNC = PREFIX % "sync"

V10 = "/v1.0/{project_id}/os-quota-sets/{target}"
V11 = "/v1.1/{project_id}/os-quota-sets"

rules = [
    policy.DocumentedRuleDefault(
        DEFAULTS, base.ADMIN_OR_READER, "Show the default global limits.",
        [{"method": "GET", "path": "/v1.0/{project_id}/os-quota-sets/defaults"},
         {"method": "GET", "path": V11 + "/defaults"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER, "Show a project's global limits.",
        [{"method": "GET", "path": V10}, {"method": "GET", "path": V11}]),
    policy.DocumentedRuleDefault(
        DETAIL, base.ADMIN_OR_READER,
        "Show a project's global limits and its usage summed over all regions.",
        [{"method": "GET", "path": V10 + "/detail"}, {"method": "GET", "path": V11 + "/detail"}]),
    policy.DocumentedRuleDefault(
        UPDATE, base.ADMIN, "Set some of a project's global limits.",
        [{"method": "PUT", "path": V10}, {"method": "PUT", "path": V11}]),
    policy.DocumentedRuleDefault(
        DELETE, base.ADMIN, "Delete all or some of a project's global limits.",
        [{"method": "DELETE", "path": V10}, {"method": "DELETE", "path": V11}]),
    policy.DocumentedRuleDefault(
        SYNC, base.ADMIN, "Rebalance a project's region limits now.",
        [{"method": "PUT", "path": V10 + "/sync"}, {"method": "PUT", "path": V11 + "/sync"}]),
]


def list_rules():
    return rules
