"""Policies of POST /v2/checkpoints/{id}/restore and /v2/restores (disaster recovery)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:restores:%s"
DRILL = PREFIX % "drill"
DRILL_INTO_PROJECT = PREFIX % "drill_into_project"
FAILOVER = PREFIX % "failover"
LIST = PREFIX % "list"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
SHOW = PREFIX % "show"

RESTORE = "/v2/checkpoints/{checkpoint_id}/restore"
PATH = "/v2/restores"

rules = [
    policy.DocumentedRuleDefault(
        DRILL, base.ADMIN_OR_MEMBER,
        "Restore a checkpoint in its backup region as a drill: separate networks and "
        "prefixed names; the source region is never called.",
        [{"method": "POST", "path": RESTORE + " (mode drill)"}]),
    policy.DocumentedRuleDefault(
        DRILL_INTO_PROJECT, base.ADMIN,
        "Restore a drill into a project named in the request (target_project_id) other "
        "than the plan's: the service user is given [dr] restore_role there and creates "
        "the drill's volumes, networks, ports and servers in it.",
        [{"method": "POST", "path": RESTORE + " (mode drill, target_project_id)"}]),
    policy.DocumentedRuleDefault(
        FAILOVER, base.ADMIN_OR_MEMBER,
        "Fail a protected VNF over to its backup region (the original names and addresses); "
        "needs a confirmation token returned by a previous call.",
        [{"method": "POST", "path": RESTORE + " (mode failover)"}]),
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER, "List a project's restores.",
        [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(
        LIST_ALL_PROJECTS, base.ADMIN, "List and show the restores of every project.",
        [{"method": "GET", "path": PATH + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER,
        "Show a restore: per-resource report (volumes, keypairs, flavors, networks, ports, "
        "servers) and the measured RTO.",
        [{"method": "GET", "path": PATH + "/{restore_id}"}]),
]


def list_rules():
    return rules
