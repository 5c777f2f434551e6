"""Policies of /v1.0/pods (the big region's pods, Tricircle's API): admin only."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:pods:%s"
CREATE = PREFIX % "create"
LIST = PREFIX % "list"
SHOW = PREFIX % "show"
DELETE = PREFIX % "delete"

PATH = "/v1.0/pods"

rules = [
    policy.DocumentedRuleDefault(
        CREATE, base.ADMIN,
        "Register the top region (no az_name) or a bottom pod of an availability zone.",
        [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(LIST, base.ADMIN, "List the pods.",
                                 [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(SHOW, base.ADMIN, "Show a pod.",
                                 [{"method": "GET", "path": PATH + "/{pod_id}"}]),
    policy.DocumentedRuleDefault(
        DELETE, base.ADMIN, "Delete a pod (refused while resources are routed to it).",
        [{"method": "DELETE", "path": PATH + "/{pod_id}"}]),
]


def list_rules():
    return rules
