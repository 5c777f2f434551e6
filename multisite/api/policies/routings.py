"""Policies of /v1.0/routings (top id -> bottom id in a pod, Tricircle's API): admin only."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:routings:%s"
CREATE = PREFIX % "create"
LIST = PREFIX % "list"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"

PATH = "/v1.0/routings"

rules = [
    policy.DocumentedRuleDefault(CREATE, base.ADMIN, "Create a resource routing by hand.",
                                 [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(LIST, base.ADMIN,
                                 "List resource routings (filters, limit, marker).",
                                 [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(SHOW, base.ADMIN, "Show a resource routing.",
                                 [{"method": "GET", "path": PATH + "/{id}"}]),
    policy.DocumentedRuleDefault(UPDATE, base.ADMIN, "Change a resource routing.",
                                 [{"method": "PUT", "path": PATH + "/{id}"}]),
    policy.DocumentedRuleDefault(
        DELETE, base.ADMIN, "Delete a resource routing (the pod's resource is left).",
        [{"method": "DELETE", "path": PATH + "/{id}"}]),
]


def list_rules():
    return rules
