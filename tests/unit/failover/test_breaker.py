"""Circuit breakers of the failover plugin (virtual time)."""

import pytest

from multisite.failover.breaker import Breakers


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_order_is_configured_order_without_open_ones(clock):
    b = Breakers(["local", "remote", "third"], retry_after=10, clock=clock)
    assert b.order() == ["local", "remote", "third"]
    b.failed("local")
    assert b.order() == ["remote", "third"]
    assert b.state("local") == "open"


def test_half_open_after_retry_after_one_trial_at_a_time(clock):
    b = Breakers(["local", "remote"], retry_after=10, clock=clock)
    b.failed("local")
    clock.now = 9.9
    assert b.order() == ["remote"]
    clock.now = 10.0
    assert b.order() == ["local", "remote"]   # this request tries the local one again
    assert b.order() == ["remote"]            # concurrent ones do not
    b.succeeded("local")
    assert b.order() == ["local", "remote"] and b.state("local") == "closed"


def test_failed_trial_opens_again(clock):
    b = Breakers(["local", "remote"], retry_after=5, clock=clock)
    b.failed("local")
    clock.now = 5
    assert b.order()[0] == "local"
    b.failed("local")
    clock.now = 9
    assert b.order() == ["remote"]
    clock.now = 10
    assert b.order() == ["local", "remote"]


def test_released_trial_is_offered_again(clock):
    b = Breakers(["remote", "local"], retry_after=5, clock=clock)
    b.failed("local")
    clock.now = 6
    assert b.order() == ["remote", "local"]
    b.release("local")                         # remote answered: local not tried
    assert b.order() == ["remote", "local"]


def test_all_open_tries_all(clock):
    b = Breakers(["a", "b"], retry_after=60, clock=clock)
    b.failed("a")
    b.failed("b")
    assert b.order() == ["a", "b"]


def test_duplicates_and_empty():
    assert Breakers(["a", "a", "b"]).urls == ["a", "b"]
    with pytest.raises(ValueError):
        Breakers([])
