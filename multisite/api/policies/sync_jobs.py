"""Policies of os-sync (resource synchronization jobs)."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:sync_jobs:%s"
CREATE = PREFIX % "create"
CREATE_FLAVOR = PREFIX % "create_flavor"
LIST = PREFIX % "list"
LIST_ALL_PROJECTS = PREFIX % "list_all_projects"
SHOW = PREFIX % "show"
DELETE = PREFIX % "delete"

PATH = "/v1.0/{project_id}/os-sync"

rules = [
    policy.DocumentedRuleDefault(CREATE, base.ADMIN_OR_MEMBER,
                                 "Create a keypair or image sync job.",
                                 [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(CREATE_FLAVOR, base.ADMIN, "Create a flavor sync job.",
                                 [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(LIST, base.ADMIN_OR_READER, "List a project's sync jobs.",
                                 [{"method": "GET", "path": PATH},
                                  {"method": "GET", "path": PATH + "/active"}]),
    policy.DocumentedRuleDefault(LIST_ALL_PROJECTS, base.ADMIN,
                                 "List the sync jobs of every project.",
                                 [{"method": "GET", "path": PATH + "?all_projects=true"}]),
    policy.DocumentedRuleDefault(SHOW, base.ADMIN_OR_READER, "Show a sync job's rows.",
                                 [{"method": "GET", "path": PATH + "/{job_id}"}]),
    policy.DocumentedRuleDefault(DELETE, base.ADMIN_OR_MEMBER, "Delete a finished sync job.",
                                 [{"method": "DELETE", "path": PATH + "/{job_id}"}]),
]


def list_rules():
    return rules
