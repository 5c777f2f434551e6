"""Policies of /v2/address-conflicts (overlapping addresses across regions)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:address_conflicts:%s"
LIST = PREFIX % "list"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
SHOW = PREFIX % "show"
CHECK = PREFIX % "check"

PATH = "/v2/address-conflicts"

rules = [
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER,
        "List the conflicts a project's addresses are part of (the token's project, or "
        "project_id=).",
        [{"method": "GET", "path": PATH}, {"method": "GET", "path": PATH + "?project_id={p}"}]),
    policy.DocumentedRuleDefault(
        LIST_ALL_PROJECTS, base.ADMIN, "List every address conflict.",
        [{"method": "GET", "path": PATH + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER, "Show one conflict a project's addresses are part of.",
        [{"method": "GET", "path": PATH + "/{conflict_id}"}]),
    policy.DocumentedRuleDefault(
        CHECK, base.ADMIN_OR_READER,
        "Tell whether a planned subnet of a project would overlap an address in use.",
        [{"method": "POST", "path": PATH + "/check"}]),
]


def list_rules():
    return rules
