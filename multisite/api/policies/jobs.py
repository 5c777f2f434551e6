"""Policies of /v1.0/jobs (the big region's asynchronous jobs, Tricircle's API): admin only."""

from oslo_policy import policy

from multisite.api.policies import base

PREFIX = "multisite:jobs:%s"
CREATE = PREFIX % "create"
LIST = PREFIX % "list"
SCHEMAS = PREFIX % "schemas"
SHOW = PREFIX % "show"
REDO = PREFIX % "redo"
DELETE = PREFIX % "delete"

PATH = "/v1.0/jobs"

rules = [
    policy.DocumentedRuleDefault(CREATE, base.ADMIN, "Create an asynchronous job.",
                                 [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(LIST, base.ADMIN,
                                 "List jobs (project_id, type, status, limit, marker).",
                                 [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(SCHEMAS, base.ADMIN,
                                 "List the job types and the resource fields each needs.",
                                 [{"method": "GET", "path": PATH + "/schemas"}]),
    policy.DocumentedRuleDefault(SHOW, base.ADMIN, "Show a job.",
                                 [{"method": "GET", "path": PATH + "/{job_id}"}]),
    policy.DocumentedRuleDefault(REDO, base.ADMIN,
                                 "Redo a NEW or FAILed job (refused while it runs).",
                                 [{"method": "PUT", "path": PATH + "/{job_id}"}]),
    policy.DocumentedRuleDefault(DELETE, base.ADMIN,
                                 "Delete a job (refused while it runs).",
                                 [{"method": "DELETE", "path": PATH + "/{job_id}"}]),
]


def list_rules():
    return rules
