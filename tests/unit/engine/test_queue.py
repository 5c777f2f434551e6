"""The work queue and the one backoff, in virtual time: de-duplication, delays, caps."""

import random

import pytest

from multisite import reconcilers
from multisite.engine import queue
from multisite.reconcilers import Key


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def q(clock):
    return queue.WorkQueue(clock=clock, caps={"a": 2, "b": 1})


A1, A2, A3 = (Key("a", f"{i}", "R1") for i in range(1, 4))


def test_a_queued_key_is_added_once(q):
    assert q.add(A1) is True
    assert q.add(A1) is False
    assert q.get("a") == A1
    assert q.get("a") is None


def test_a_key_added_while_processing_runs_once_more_afterwards(q):
    q.add(A1)
    assert q.get("a") == A1
    assert q.state(A1) == "processing"
    assert q.add(A1) is False and q.add(A1) is False     # marked "again", once
    assert q.get("a") is None                            # never twice at once
    assert q.done(A1) is True
    assert q.get("a") == A1
    assert q.done(A1) is False and q.state(A1) is None


def test_a_resync_does_not_mark_a_running_key_again(q):
    q.add(A1)
    q.get("a")
    assert q.add(A1, again=False) is False
    assert q.done(A1) is False and q.get("a") is None


def test_requeue_after_waits_for_its_time(q, clock):
    q.add_after(A1, 10)
    assert q.state(A1) == "delayed" and q.next_due() == 10
    clock.now += 9.9
    assert q.get("a") is None
    clock.now += 0.1
    assert q.get("a") == A1


def test_the_earliest_due_time_wins_and_add_supersedes_a_delay(q, clock):
    q.add_after(A1, 30)
    q.add_after(A1, 5)
    q.add_after(A1, 60)
    clock.now += 5
    assert q.get("a") == A1
    q.done(A1)
    clock.now += 100
    assert q.get("a") is None                            # the other entries were superseded
    q.add_after(A2, 50)
    assert q.add(A2) is True and q.get("a") == A2         # now, not in 50 s
    q.done(A2)
    clock.now += 60
    assert q.get("a") is None


def test_workers_are_capped_per_kind(q):
    for key in (A1, A2, A3, Key("b", "1"), Key("b", "2")):
        q.add(key)
    assert [q.get("a"), q.get("a"), q.get("a")] == [A1, A2, None]
    assert q.get("b") == Key("b", "1") and q.get("b") is None   # "a" does not use b's slot
    q.done(A1)
    assert q.get("a") == A3
    assert q.depth("a") == (0, 2, 0)


def test_a_closed_queue_takes_nothing(q):
    q.add(A1)
    q.close()
    assert q.get("a") is None and q.add(A2) is False and q.add_after(A3, 1) is False


@pytest.mark.parametrize("attempt,expected", [(0, 0), (1, 5), (2, 10), (3, 20), (6, 120),
                                              (40, 120)])
def test_backoff_without_jitter_doubles_up_to_the_cap(attempt, expected):
    assert reconcilers.backoff(attempt, base=5, cap=120) == expected


def test_backoff_jitter_stays_within_its_bounds():
    rng = random.Random(7)
    for attempt in range(1, 12):
        plain = reconcilers.backoff(attempt, base=5, cap=120)
        seen = [reconcilers.backoff(attempt, base=5, cap=120, jitter=0.2, rand=rng.random)
                for _ in range(200)]
        assert all(plain * 0.8 <= d <= plain * 1.2 for d in seen)
        assert max(seen) - min(seen) > plain * 0.2          # it does spread
    assert reconcilers.backoff(3, base=5, cap=120, jitter=0.2, rand=lambda: 0.0) == 16.0
    assert reconcilers.backoff(3, base=5, cap=120, jitter=0.2, rand=lambda: 1.0) == 24.0
