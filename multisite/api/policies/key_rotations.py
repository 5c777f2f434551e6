"""Policies of /v2/identity/key-rotations (Fernet key rotations across every Keystone)."""

from oslo_policy import policy

from multisite.api.policies import base

CREATE = "multisite:key_rotations:create"
LIST = "multisite:key_rotations:list"
SHOW = "multisite:key_rotations:show"
PATH = "/v2/identity/key-rotations"

rules = [
    policy.DocumentedRuleDefault(
        CREATE, base.ADMIN, "Start a Fernet key rotation of every Keystone node now.",
        [{"method": "POST", "path": PATH}]),
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN, "List key rotations, newest first.",
        [{"method": "GET", "path": PATH}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN, "Show a key rotation with its per-node progress and verification.",
        [{"method": "GET", "path": PATH + "/{rotation_id}"}]),
]


def list_rules():
    return rules
