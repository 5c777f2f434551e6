"""Policies of os-quota-class-sets."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:quota_classes:%s"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"
DELETE = PREFIX % "delete"

PATH = "/v1.0/{project_id}/os-quota-class-sets/{class_name}"

rules = [
    policy.DocumentedRuleDefault(SHOW, base.ADMIN_OR_READER, "Show a quota class.",
                                 [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(UPDATE, base.ADMIN, "Set some limits of a quota class.",
                                 [{"method": "PUT", "path": PATH}]),
    policy.DocumentedRuleDefault(DELETE, base.ADMIN, "Delete a quota class.",
                                 [{"method": "DELETE", "path": PATH}]),
]


def list_rules():
    return rules
