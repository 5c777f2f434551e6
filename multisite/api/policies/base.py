"""Base rules that the resource policies are written with."""

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_READER = "rule:project_reader"
PROJECT_MEMBER = "rule:project_member"
ADMIN_OR_READER = "rule:admin_or_project_reader"
ADMIN_OR_MEMBER = "rule:admin_or_project_member"

rules = [
    policy.RuleDefault(
        "context_is_admin", "role:admin",
        description="Admin is a role in the token's role list (any case), not an exact "
                    "header value as in Kingbird."),
    policy.RuleDefault(
        "project_reader",
        "(role:reader or role:member or role:_member_) and project_id:%(project_id)s",
        description="A user with a read role in the target project."),
    policy.RuleDefault(
        "project_member", "(role:member or role:_member_) and project_id:%(project_id)s",
        description="A user with the member role in the target project."),
    policy.RuleDefault("admin_or_project_reader", f"{ADMIN} or {PROJECT_READER}",
                       description="Admin, or a reader of the target project."),
    policy.RuleDefault("admin_or_project_member", f"{ADMIN} or {PROJECT_MEMBER}",
                       description="Admin, or a member of the target project."),
]


def list_rules():
    return rules
