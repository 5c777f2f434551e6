"""Policies of /v2/addresses (the address index of every region)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:addresses:%s"
LIST = PREFIX % "list"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
SHOW = PREFIX % "show"

PATH = "/v2/addresses"

rules = [
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER,
        "Search a project's addresses in every region (the token's project, or "
        "project_id=).",
        [{"method": "GET", "path": PATH}, {"method": "GET", "path": PATH + "?project_id={p}"}]),
    policy.DocumentedRuleDefault(
        LIST_ALL_PROJECTS, base.ADMIN, "Search the addresses of every project.",
        [{"method": "GET", "path": PATH + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER, "Show one address index entry of a project.",
        [{"method": "GET", "path": PATH + "/{address_id}"}]),
]


def list_rules():
    return rules
