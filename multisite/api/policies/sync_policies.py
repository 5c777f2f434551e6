"""Policies of /v2/sync-policies (continuous sync of a project's resources)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:sync_policies:%s"
CREATE = PREFIX % "create"
CREATE_FLAVOR = PREFIX % "create_flavor"
LIST = PREFIX % "list"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
SHOW = PREFIX % "show"
DELETE = PREFIX % "delete"
AUDIT = PREFIX % "audit"

PATH = "/v2/sync-policies"

rules = [
    policy.DocumentedRuleDefault(
        CREATE, base.ADMIN_OR_MEMBER, "Create a sync policy in the token's project.",
        [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(
        CREATE_FLAVOR, base.ADMIN,
        "Create a flavor sync policy (flavors are cloud-wide: an admin's).",
        [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER, "List a project's sync policies.",
        [{"method": "GET", "path": PATH}, {"method": "GET", "path": PATH + "?project_id={p}"}]),
    policy.DocumentedRuleDefault(
        LIST_ALL_PROJECTS, base.ADMIN, "List and show the sync policies of every project.",
        [{"method": "GET", "path": PATH + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER, "Show a sync policy and the state of each target.",
        [{"method": "GET", "path": PATH + "/{policy_id}"}]),
    policy.DocumentedRuleDefault(
        DELETE, base.ADMIN_OR_MEMBER, "Delete a sync policy (targets are left as they are).",
        [{"method": "DELETE", "path": PATH + "/{policy_id}"}]),
    policy.DocumentedRuleDefault(
        AUDIT, base.ADMIN_OR_MEMBER,
        "Audit the project's sync policies now (and repair, in enforce mode); waits.",
        [{"method": "POST", "path": PATH + "/{policy_id}/audit"}]),
]


def list_rules():
    return rules
