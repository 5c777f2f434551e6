"""Policies of /v2/protection-plans and /v2/checkpoints (disaster recovery)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:protection_plans:%s"
CREATE = PREFIX % "create"
LIST = PREFIX % "list"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
SHOW = PREFIX % "show"
DELETE = PREFIX % "delete"
DISCOVER = PREFIX % "discover"
CHECKPOINT_CREATE = "multisite:checkpoints:create"
CHECKPOINT_LIST = "multisite:checkpoints:list"
CHECKPOINT_SHOW = "multisite:checkpoints:show"

PATH = "/v2/protection-plans"
CHECKPOINTS = "/v2/checkpoints"

rules = [
    policy.DocumentedRuleDefault(
        CREATE, base.ADMIN_OR_MEMBER,
        "Create a protection plan of the token's project's servers (discovered by the engine).",
        [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN_OR_READER, "List a project's protection plans.",
        [{"method": "GET", "path": PATH}, {"method": "GET", "path": PATH + "?project_id={p}"}]),
    policy.DocumentedRuleDefault(
        LIST_ALL_PROJECTS, base.ADMIN,
        "List and show the protection plans and checkpoints of every project.",
        [{"method": "GET", "path": PATH + "?all_projects=true"},
         {"method": "GET", "path": CHECKPOINTS + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN_OR_READER,
        "Show a protection plan: what was discovered and what cannot be protected.",
        [{"method": "GET", "path": PATH + "/{plan_id}"}]),
    policy.DocumentedRuleDefault(
        DELETE, base.ADMIN_OR_MEMBER,
        "Delete a protection plan (its backups in the backup region are kept).",
        [{"method": "DELETE", "path": PATH + "/{plan_id}"}]),
    policy.DocumentedRuleDefault(
        DISCOVER, base.ADMIN_OR_MEMBER, "Discover a protection plan's servers again.",
        [{"method": "POST", "path": PATH + "/{plan_id}/discover"}]),
    policy.DocumentedRuleDefault(
        CHECKPOINT_CREATE, base.ADMIN_OR_MEMBER,
        "Take a checkpoint of a protection plan (pauses its servers for the snapshots).",
        [{"method": "POST", "path": PATH + "/{plan_id}/checkpoints"}]),
    policy.DocumentedRuleDefault(
        CHECKPOINT_LIST, base.ADMIN_OR_READER, "List a project's checkpoints.",
        [{"method": "GET", "path": CHECKPOINTS}]),
    policy.DocumentedRuleDefault(
        CHECKPOINT_SHOW, base.ADMIN_OR_READER,
        "Show a checkpoint: per-resource status, timings and the measured pause window.",
        [{"method": "GET", "path": CHECKPOINTS + "/{checkpoint_id}"}]),
]


def list_rules():
    return rules
