"""The login rate limiter's windows, on a virtual clock (multisite/api/ratelimit.py)."""

import types

import pytest

from multisite.api import errors, ratelimit


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _limiter(per_source=3, per_user=2, period=60):
    conf = types.SimpleNamespace(dashboard=types.SimpleNamespace(
        login_attempts_per_source=per_source, login_failures_per_user=per_user,
        login_rate_period=period))
    clock = Clock()
    return ratelimit.LoginLimiter(conf, clock), clock, conf


def _refused(limiter, source, user):
    with pytest.raises(errors.HTTPError) as caught:
        limiter.check(source, user)
    assert caught.value.status == 429 and caught.value.code == "auth.rate_limited"
    return int(caught.value.headers["Retry-After"])


def test_a_source_over_its_attempts_waits_until_the_oldest_leaves_the_window():
    limiter, clock, _ = _limiter()
    alice = limiter.user_key("alice", "Default")
    for _ in range(3):
        limiter.check("10.0.0.1", alice)
        limiter.succeeded(alice)
        clock.now += 10
    assert _refused(limiter, "10.0.0.1", alice) == 30  # first attempt at 1000, now 1030
    limiter.check("10.0.0.2", alice)  # another address is not held back
    clock.now += 29.5
    assert _refused(limiter, "10.0.0.1", alice) == 1
    clock.now += 0.5
    limiter.check("10.0.0.1", alice)  # the first attempt left the window
    assert _refused(limiter, "10.0.0.1", alice) == 10


def test_refusals_of_one_user_from_any_address_and_a_success_clears_them():
    limiter, clock, _ = _limiter(per_source=0)
    bob = limiter.user_key("Bob", "Default")
    assert bob == limiter.user_key("bob", "default")  # Keystone names are case-insensitive
    limiter.check("10.0.0.1", bob)
    limiter.refused(bob)
    limiter.check("10.0.0.2", bob)
    limiter.refused(bob)
    assert _refused(limiter, "10.0.0.3", bob) == 60
    limiter.check("10.0.0.3", limiter.user_key("bob", "other-domain"))
    clock.now += 60
    limiter.check("10.0.0.3", bob)
    limiter.refused(bob)
    limiter.succeeded(bob)
    limiter.check("10.0.0.3", bob)
    limiter.refused(bob)
    limiter.check("10.0.0.3", bob)  # one refusal since the success


def test_zero_switches_a_limit_off_and_limits_are_read_at_each_login():
    limiter, _clock, conf = _limiter(per_source=0, per_user=0)
    carol = limiter.user_key("carol", None)
    for _ in range(100):
        limiter.check("10.0.0.1", carol)
        limiter.refused(carol)
    assert len(limiter.by_source) == 0 and len(limiter.by_user) == 0
    conf.dashboard.login_attempts_per_source = 1
    limiter.check("10.0.0.1", carol)
    _refused(limiter, "10.0.0.1", carol)


def test_old_keys_are_pruned(monkeypatch):
    monkeypatch.setattr(ratelimit, "_PRUNE_ABOVE", 10)
    limiter, clock, _ = _limiter(per_source=5)
    user = limiter.user_key("u", "d")
    for n in range(10):
        limiter.check(f"10.0.1.{n}", user)
    clock.now += 61
    limiter.check("10.0.2.1", user)
    assert len(limiter.by_source) == 1
