"""The oslo.policy enforcer."""

import threading

from oslo_policy import policy as oslo_policy

from multisite import exception
from multisite.api import policies

_ENFORCER = None
_LOCK = threading.Lock()


class PolicyNotAuthorized(exception.MultisiteError):
    code = "policy.forbidden"
    message = "Policy does not allow %(action)s to be performed."


def get_enforcer(conf=None):
    """The process-wide enforcer (also the oslopolicy tools' entry point)."""
    global _ENFORCER
    if conf is None:
        from multisite.conf import CONF as conf
    with _LOCK:
        if _ENFORCER is None:
            enforcer = oslo_policy.Enforcer(conf)
            enforcer.register_defaults(policies.list_rules())
            enforcer.load_rules()
            _ENFORCER = enforcer
    return _ENFORCER


def reset():
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def authorize(context, rule, target, *, fatal=True):
    try:
        return get_enforcer().authorize(rule, target, context, do_raise=fatal,
                                        exc=PolicyNotAuthorized, action=rule)
    except oslo_policy.InvalidScope as exc:
        raise PolicyNotAuthorized(action=rule) from exc


def check_is_admin(context):
    return get_enforcer().authorize("context_is_admin", {}, context, do_raise=False)
