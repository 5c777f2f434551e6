"""Policies of /v2/inventory (a project's resources in every region, read live)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:inventory:%s"
LIST = PREFIX % "list"

PATH = "/v2/inventory"

rules = [
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER,
        "List (or count) a project's resources in every region (the token's project, or "
        "project_id=).",
        [{"method": "GET", "path": PATH}, {"method": "GET", "path": PATH + "/summary"}]),
]


def list_rules():
    return rules
