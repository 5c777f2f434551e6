"""Durable leases over the work-item table, on a real database, in virtual time."""

import datetime

import pytest

from multisite.engine import leases as leases_mod
from multisite.objects import work_items


class Now:
    def __init__(self):
        self.t = datetime.datetime(2030, 1, 1)

    def __call__(self):
        return self.t

    def advance(self, seconds):
        self.t += datetime.timedelta(seconds=seconds)


@pytest.fixture
def now():
    return Now()


@pytest.fixture
def engines(db, now):
    def make(engine_id, **kwargs):
        return leases_mod.WorkItemLeases(db, kind="toy", engine_id=engine_id, lease=10,
                                         now=now, **kwargs)
    return make("e1", max_attempts=3), make("e2", max_attempts=3)


def test_an_item_is_added_once_while_it_waits(db):
    first = work_items.add(db, kind="toy", key_id="k", region="R1", parent_id="job")
    assert work_items.add(db, kind="toy", key_id="k", region="R1") == first
    assert work_items.add(db, kind="toy", key_id="k", region="R2") != first
    assert work_items.add(db, kind="other", key_id="k", region="R1") != first


def test_a_claimed_item_is_nobody_elses_until_its_lease_expires(db, engines, now):
    a, b = engines
    work_items.add(db, kind="toy", key_id="k", region="R1")
    (item,) = a.claim(limit=5)
    assert item["attempts"] == 1 and item["claimed_by"] == "e1"
    assert a.key(item) == ("toy", "k", "R1")
    now.advance(9)
    assert b.claim(limit=5) == []
    a.renew([item])                         # renewed at t=9: held until t=19
    now.advance(9)
    assert b.claim(limit=5) == []
    now.advance(1.5)                        # e1 died: the lease lapses, e2 takes over
    (taken,) = b.claim(limit=5)
    assert taken["id"] == item["id"] and taken["attempts"] == 2
    a.finish(item, ok=True)                 # the old holder's late finish is refused
    assert work_items.get(db, item["id"])["status"] == work_items.WAITING
    b.finish(taken, ok=True)
    assert work_items.get(db, item["id"])["status"] == work_items.DONE
    now.advance(100)
    assert a.claim(limit=5) == b.claim(limit=5) == []


def test_requeue_sets_a_not_before_time(db, engines, now):
    a, b = engines
    work_items.add(db, kind="toy", key_id="k")
    (item,) = a.claim(limit=5)
    a.requeue(item, delay=30, error="region down", attempt=True)
    now.advance(29)
    assert b.claim(limit=5) == []
    now.advance(1)
    (again,) = b.claim(limit=5)
    assert again["attempts"] == 2 and again["last_error"] == "region down"
    b.requeue(again, delay=5, error=None, attempt=False)   # a poll, not a failure
    now.advance(5)
    assert a.claim(limit=5)[0]["attempts"] == 2


def test_an_item_that_used_its_attempts_fails_instead_of_being_claimed(db, engines, now):
    a, _ = engines
    work_items.add(db, kind="toy", key_id="k")
    for _ in range(3):                       # the engine dies each time
        assert len(a.claim(limit=5)) == 1
        now.advance(11)
    assert a.claim(limit=5) == []
    (item,) = work_items.list_items(db, kind="toy")
    assert item["status"] == work_items.FAILED
    assert item["last_error"] == "gave up after 3 attempts"


def test_claims_of_one_parent_and_up_to_a_limit(db, engines):
    a, _ = engines
    for n in range(4):
        work_items.add(db, kind="toy", key_id=f"k{n}", parent_id="job-1")
    work_items.add(db, kind="toy", key_id="other", parent_id="job-2")
    first = {i["key_id"] for i in a.claim(limit=3, parent_id="job-1")}
    assert len(first) == 3
    rest = {i["key_id"] for i in a.claim(limit=3, parent_id="job-1")}
    assert first | rest == {"k0", "k1", "k2", "k3"} and len(rest) == 1
    assert [i["key_id"] for i in a.claim(limit=3)] == ["other"]


def test_a_failure_is_recorded_with_its_error(db, engines):
    a, _ = engines
    work_items.add(db, kind="toy", key_id="k")
    (item,) = a.claim(limit=1)
    a.finish(item, ok=False, error="x" * 5000)
    stored = work_items.get(db, item["id"])
    assert stored["status"] == work_items.FAILED and len(stored["last_error"]) == 4000
