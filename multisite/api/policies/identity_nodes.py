"""Policies of /v2/identity/nodes (the Keystone nodes whose Fernet keys Multisite manages)."""

from oslo_policy import policy

from multisite.api.policies import base

LIST = "multisite:identity_nodes:list"
SHOW = "multisite:identity_nodes:show"

rules = [
    policy.DocumentedRuleDefault(
        LIST, base.ADMIN,
        "List the Keystone nodes: region, URL, key repository hash, last rotation and "
        "last verification.", [{"method": "GET", "path": "/v2/identity/nodes"}]),
    policy.DocumentedRuleDefault(
        SHOW, base.ADMIN, "Show one Keystone node.",
        [{"method": "GET", "path": "/v2/identity/nodes/{name}"}]),
]


def list_rules():
    return rules
