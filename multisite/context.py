"""Request context carrying identity, with policy checks through can()."""

from oslo_context import context as oslo_context


class RequestContext(oslo_context.RequestContext):
    """Identity of a caller; `can()` enforces a policy rule and records that it ran."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy_checks = []

    def can(self, rule, target=None, *, fatal=True):
        from multisite.api import policy

        self.policy_checks.append(rule)
        return policy.authorize(self, rule, target or {"project_id": self.project_id},
                                fatal=fatal)

    @property
    def is_admin_role(self):
        from multisite.api import policy

        return policy.check_is_admin(self)

    def to_rpc_dict(self):
        """What may travel over the message bus: identity, never credentials."""
        return {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "roles": list(self.roles),
            "request_id": self.request_id,
            "global_request_id": self.global_request_id,
            "user_domain_id": self.user_domain_id,
            "project_domain_id": self.project_domain_id,
        }

    @classmethod
    def from_rpc_dict(cls, values):
        return cls(
            user_id=values.get("user_id"),
            project_id=values.get("project_id"),
            roles=values.get("roles") or [],
            request_id=values.get("request_id"),
            global_request_id=values.get("global_request_id"),
            user_domain_id=values.get("user_domain_id"),
            project_domain_id=values.get("project_domain_id"),
            overwrite=False,
        )


def clear_store():
    """Forget this thread's current context (the next request's log lines start clean)."""
    # oslo.context keeps it in a thread-local and has no public way to drop it.
    oslo_context._request_store.__dict__.pop("context", None)


def get_admin_context():
    return RequestContext(roles=["admin"], is_admin=True, overwrite=False)
