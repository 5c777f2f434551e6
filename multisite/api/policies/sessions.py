"""Policies of the dashboard's session endpoint (logging in needs none)."""

from oslo_policy import policy

PREFIX = "multisite:sessions:%s"
SHOW = PREFIX % "show"
DELETE = PREFIX % "delete"

PATH = "/auth/session"

rules = [
    policy.DocumentedRuleDefault(
        SHOW, "", "Show the caller's identity, roles, regions and CSRF token.",
        [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(
        DELETE, "", "Log out: revoke the session's token and clear its cookie.",
        [{"method": "DELETE", "path": PATH}]),
]


def list_rules():
    return rules
