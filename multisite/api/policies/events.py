"""Policies of /v2/events (the central event feed)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:events:%s"
LIST = PREFIX % "list"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
SHOW = PREFIX % "show"

PATH = "/v2/events"

rules = [
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER,
        "List a project's events (the token's project, or project_id=).",
        [{"method": "GET", "path": PATH}, {"method": "GET", "path": PATH + "?project_id={p}"}]),
    policy.DocumentedRuleDefault(
        LIST_ALL_PROJECTS, base.ADMIN,
        "List the events of every project, and those of no project (regions, Multisite).",
        [{"method": "GET", "path": PATH + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER, "Show one event of a project.",
        [{"method": "GET", "path": PATH + "/{event_id}"}]),
]


def list_rules():
    return rules
