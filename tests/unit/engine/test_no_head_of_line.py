"""A slow kind holds up its own workers only, never another kind's work.

Real manager threads; the slow kind is blocked on an Event (not slept), and each test
checks that the other kind's work happens *while* the slow one is still blocked. Before
the fix the manager had one scan thread that both claimed every durable kind's items
and handed out every kind's delayed keys, so one kind's claim waiting on the database
(SQLite's busy timeout is 30 s) stopped every requeue of every kind and every other
durable kind's claims; and a key made ready by another kind's get() waited for the
scan interval.
"""

import threading
import uuid

import pytest

from multisite.engine import controller, manager, queue
from multisite.engine import ring as ring_mod
from multisite.reconcilers import Key, Outcome

WAIT = 20.0       # generous: a loaded CI machine; the assertions are about order, not speed


class _Coordinator:
    """Alone on the ring; no tooz."""

    ring = ring_mod.Alone()

    def beat_period(self):
        return 1.0

    def heartbeat(self):
        pass

    def stop(self):
        pass


class BlockedLeases:
    """Durable items whose claim waits on `release` (a database busy with a writer)."""

    scan_interval = renew_period = 0.05

    def __init__(self, kind, ids=("1",), *, blocked=True):
        self.kind = kind
        self.waiting = list(ids)
        self.release = threading.Event()
        if not blocked:
            self.release.set()
        self.claiming = threading.Event()
        self.finished = []

    def key(self, item):
        return Key(self.kind, item["id"])

    def claim(self, *, limit, parent_id=None):
        self.claiming.set()
        self.release.wait(WAIT * 2)
        out, self.waiting = self.waiting[:limit], self.waiting[limit:]
        return [{"id": i, "attempts": 1} for i in out]

    def renew(self, items):
        pass

    def requeue(self, item, *, delay, error, attempt):
        self.waiting.append(item["id"])

    def finish(self, item, *, ok, error=None):
        self.finished.append(item["id"])


class Twice:
    """Requeues each key once (after 10 ms), then is done; `second` set on the rerun."""

    def __init__(self):
        self.seen = set()
        self.second = threading.Event()

    def reconcile(self, key, env):
        if key in self.seen:
            self.second.set()
            return Outcome.done()
        self.seen.add(key)
        return Outcome.requeue_after(0.01)


class Done:
    def __init__(self):
        self.ran = threading.Event()

    def reconcile(self, key, env):
        self.ran.set()
        return Outcome.done()


@pytest.fixture
def engine(conf):
    made = []

    def make(*kinds):
        m = manager.Manager(conf, engine_id=str(uuid.uuid4()), coordinator=_Coordinator())
        for kind in kinds:
            m.add(kind, shared=None)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


def test_a_blocked_claim_does_not_hold_up_another_kinds_requeue(engine):
    slow = BlockedLeases("jobs")
    fast = Twice()
    m = engine(controller.Kind(name="jobs", reconciler=Done(), leases=lambda c, e: slow),
               controller.Kind(name="probe", reconciler=fast))
    m.start()
    assert slow.claiming.wait(WAIT)
    m.notify(Key("probe", "RegionOne", "RegionOne"))
    # the requeued probe runs again while the jobs kind is still stuck in its claim
    assert fast.second.wait(WAIT), "the probe's requeue waited behind the jobs claim"
    assert not slow.release.is_set()
    slow.release.set()


def test_a_blocked_claim_does_not_hold_up_another_durable_kinds_claim(engine):
    slow = BlockedLeases("jobs")
    other = BlockedLeases("rotations", ids=("r1",), blocked=False)
    done = Done()
    m = engine(controller.Kind(name="jobs", reconciler=Done(), leases=lambda c, e: slow),
               controller.Kind(name="rotations", reconciler=done,
                               leases=lambda c, e: other))
    m.start()
    assert slow.claiming.wait(WAIT)
    assert done.ran.wait(WAIT), "the rotations' claim waited behind the jobs claim"
    assert not slow.release.is_set()
    slow.release.set()


def test_a_slow_kind_fills_its_own_cap_and_nothing_more(engine):
    gate = threading.Event()
    started = threading.Semaphore(0)

    class Slow:
        def reconcile(self, key, env):
            started.release()
            gate.wait(WAIT * 2)
            return Outcome.done()

    fast = Done()
    m = engine(controller.Kind(name="health", reconciler=Slow(), workers=lambda c: 2),
               controller.Kind(name="quota", reconciler=fast, workers=lambda c: 1))
    m.start()
    for i in range(10):
        m.notify(Key("health", f"R{i}", f"R{i}"))
    assert started.acquire(timeout=WAIT) and started.acquire(timeout=WAIT)
    assert m.queue.depth("health") == (8, 2, 0)        # capped at 2, the rest waits
    m.notify(Key("quota", "project-1"))
    assert fast.ran.wait(WAIT), "the quota key waited behind the slow health kind"
    assert m.queue.depth("health")[1] == 2
    gate.set()


def test_a_key_made_ready_by_another_kinds_get_wakes_the_timer():
    now = [0.0]
    q = queue.WorkQueue(clock=lambda: now[0], caps={"a": 1, "b": 1})
    woken = []
    q.on_schedule = lambda: woken.append(now[0])
    q.add_after(Key("b", "x"), 5.0)
    assert woken == [0.0]                  # a new earliest due time
    now[0] = 6.0
    assert q.get("a") is None              # promotes b's key, but a cannot take it
    assert woken == [0.0, 6.0]             # so whoever serves b is told at once
    assert q.get("b") == Key("b", "x")
