"""Policies of os-quota-settings (a Multisite extension)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:quota_settings:%s"
SHOW = PREFIX % "show"
UPDATE = PREFIX % "update"

PATH = "/v1.0/{project_id}/os-quota-settings/{target}"

rules = [
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER,
        "Show how a project's region limits are balanced (policy, opt-in).",
        [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(
        UPDATE, base.ADMIN,
        "Choose a project's balancing policy and whether it is rebalanced.",
        [{"method": "PUT", "path": PATH}]),
]


def list_rules():
    return rules
