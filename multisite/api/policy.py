"""The oslo.policy enforcer."""

import collections
import collections.abc
import threading
import time

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy as oslo_policy

from multisite import exception
from multisite.api import policies

_ENFORCER = None
_LOCK = threading.Lock()


class PolicyNotAuthorized(exception.MultisiteError):
    code = "policy.forbidden"
    message = "Policy does not allow %(action)s to be performed."


# Checks whose answer depends only on the rule, the target and the credentials.
_LOCAL_CHECKS = (_checks.AndCheck, _checks.OrCheck, _checks.NotCheck, _checks.RuleCheck,
                 _checks.GenericCheck, _checks.RoleCheck, _checks.TrueCheck, _checks.FalseCheck)
_DECISIONS_KEPT = 4096


def _local_only(check):
    if not isinstance(check, _LOCAL_CHECKS):
        return False
    children = list(getattr(check, "rules", ()))
    if isinstance(check, _checks.NotCheck):
        children.append(check.rule)
    return all(_local_only(child) for child in children)


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _frozen(value):
    if type(value) in _SCALARS:
        # most credential and target values: no ABC isinstance checks (half of the key's cost)
        return value
    if isinstance(value, collections.abc.Mapping):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(_frozen(item) for item in value)
    hash(value)  # TypeError: not a value a decision can be keyed on
    return value


class Enforcer(oslo_policy.Enforcer):
    """oslo.policy's enforcer, with two costs of every request taken away:

    * the policy files are looked at (a stat each, or a search of the config directories
      when there is none) at most every ``[api] policy_file_check_interval`` seconds;
    * decisions are remembered (keyed by rule, target and credentials) until the next look
      at the files, when every rule is made of local checks (roles, generic matches,
      and/or/not/rule): oslo.policy's evaluation inspects each check's signature on every
      call, which was about a third of a quota GET's CPU. A policy with remote (http)
      or third-party checks is evaluated every time.
    """

    def __init__(self, conf, **kwargs):
        super().__init__(conf, **kwargs)
        try:
            self._interval = conf.api.policy_file_check_interval
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            self._interval = 0  # a configuration without Multisite's options
        self._next_look = 0.0
        self._decisions = collections.OrderedDict()
        self._decisions_lock = threading.Lock()
        self._cacheable = False

    def _forget(self):
        with self._decisions_lock:
            self._decisions.clear()
        self._cacheable = False

    def load_rules(self, force_reload=False):
        now = time.monotonic()
        if force_reload or not self._interval or now >= self._next_look:
            self._forget()
            super().load_rules(force_reload)
            self._next_look = now + self._interval
            self._cacheable = bool(self._interval) and all(
                _local_only(check) for check in self.rules.values())

    def set_rules(self, rules, overwrite=True, use_conf=False):
        self._forget()
        super().set_rules(rules, overwrite=overwrite, use_conf=use_conf)

    def clear(self):
        self._forget()
        super().clear()
        self._next_look = 0.0

    def enforce(self, rule, target, creds, do_raise=False, exc=None, *args, **kwargs):
        self.load_rules()
        if not self._cacheable or not isinstance(rule, str):
            return super().enforce(rule, target, creds, do_raise, exc, *args, **kwargs)
        values = creds.to_policy_values() if hasattr(creds, "to_policy_values") else creds
        # oslo.context's values warn when a deprecated key is read; key on the plain dict
        values = getattr(values, "_dict", values)
        try:
            key = (rule, _frozen(target), _frozen(values))
        except TypeError:
            return super().enforce(rule, target, creds, do_raise, exc, *args, **kwargs)
        with self._decisions_lock:
            allowed = self._decisions.get(key)
        if allowed is None:
            allowed = bool(super().enforce(rule, target, creds, do_raise=False))
            with self._decisions_lock:
                self._decisions[key] = allowed
                if len(self._decisions) > _DECISIONS_KEPT:
                    self._decisions.popitem(last=False)
        if not allowed and do_raise:
            if exc:
                raise exc(*args, **kwargs)
            raise oslo_policy.PolicyNotAuthorized(rule, target, creds)
        return allowed


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
