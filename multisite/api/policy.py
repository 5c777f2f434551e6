"""The oslo.policy enforcer."""

import threading
import time

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from multisite import exception
from multisite.api import policies

_ENFORCER = None
_LOCK = threading.Lock()


class PolicyNotAuthorized(exception.MultisiteError):
    code = "policy.forbidden"
    message = "Policy does not allow %(action)s to be performed."


class Enforcer(oslo_policy.Enforcer):
    """oslo.policy's enforcer, looking at the policy files at most every
    ``[api] policy_file_check_interval`` seconds instead of on every request."""

    def __init__(self, conf, **kwargs):
        super().__init__(conf, **kwargs)
        try:
            self._interval = conf.api.policy_file_check_interval
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            self._interval = 0  # a configuration without Multisite's options
        self._next_look = 0.0

    def load_rules(self, force_reload=False):
        now = time.monotonic()
        if force_reload or not self._interval or now >= self._next_look:
            super().load_rules(force_reload)
            self._next_look = now + self._interval

    def clear(self):
        super().clear()
        self._next_look = 0.0


def get_enforcer(conf=None):
    """The process-wide enforcer (also the oslopolicy tools' entry point)."""
    global _ENFORCER
    if conf is None:
        from multisite.conf import CONF as conf
    with _LOCK:
        if _ENFORCER is None:
            enforcer = Enforcer(conf)
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
