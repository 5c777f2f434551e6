"""A kind registered in a few lines runs on two engines: reconciled, retried, finished once."""

import collections
import threading
import time
import uuid

from multisite.engine import controller, leases, manager
from multisite.objects import services, work_items
from multisite.reconcilers import Key, Outcome, PermanentError, TemporaryError


class Toy:
    """Fails the first attempt of every third key, and key "bad" for good."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = set()
        self.overlaps = []
        self.attempts = collections.Counter()
        self.done = collections.defaultdict(list)       # key id -> engines that finished it

    def reconcile(self, key, env):
        with self.lock:
            if key in self.running:
                self.overlaps.append(key)
            self.running.add(key)
            self.attempts[key.id] += 1
            attempt = self.attempts[key.id]
        try:
            time.sleep(0.01)
            if key.id == "bad":
                raise PermanentError("bad key")
            if int(key.id) % 3 == 0 and attempt == 1:
                raise TemporaryError("not yet", delay=0.05)
            with self.lock:
                self.done[key.id].append(env.engine_id)
            return Outcome.done()
        finally:
            with self.lock:
                self.running.discard(key)


def _two_engines(db, kind):
    """Two engine managers running `kind`, both live members of the ring."""
    engines = []
    for _ in range(2):
        engine_id = str(uuid.uuid4())
        services.report(db, service_id=engine_id, host="h", binary="multisite-engine",
                        topic="t")
        engines.append(manager.Manager(db, engine_id=engine_id))
        engines[-1].add(kind)
    return engines


def _wait(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_toy_kind_is_reconciled_retried_and_finished_by_two_engines(db):
    toy = Toy()
    # the registry entry of a durable kind: a reconciler, a cap, leases, a retry rule
    kind = controller.Kind(
        name="toy", reconciler=toy, workers=lambda conf: 3,
        leases=lambda conf, engine_id: leases.WorkItemLeases(
            conf, kind="toy", engine_id=engine_id, lease=30, max_attempts=3,
            scan_interval=0.05),
        retry=lambda conf: controller.Retry(base=0.05, cap=0.1, max_attempts=3))
    engines = _two_engines(db, kind)
    ids = [str(n) for n in range(40)] + ["bad"]
    for key_id in ids:
        work_items.add(db, kind="toy", key_id=key_id, region="RegionOne", parent_id="job")
    for engine in engines:
        engine.start()
    try:
        _wait(lambda: all(i["status"] != work_items.WAITING
                          for i in work_items.list_items(db, kind="toy")))
    finally:
        for engine in engines:
            engine.stop()
    items = {i["key_id"]: i for i in work_items.list_items(db, kind="toy", parent_id="job")}
    assert {k for k, i in items.items() if i["status"] == work_items.DONE} == set(ids) - {"bad"}
    assert items["bad"]["status"] == work_items.FAILED
    assert items["bad"]["last_error"] == "bad key" and items["bad"]["attempts"] == 1
    # each key finished exactly once, never reconciled by two workers at the same time
    assert all(len(toy.done[k]) == 1 for k in ids if k != "bad") and toy.overlaps == []
    retried = [k for k in ids if k != "bad" and int(k) % 3 == 0]
    assert all(items[k]["attempts"] == 2 for k in retried)
    assert {e for k in toy.done for e in toy.done[k]} == {e.engine_id for e in engines}


def test_a_periodic_kind_without_rows_is_shared_on_the_ring(db):
    """ "Probe every region every N s": a lister, a resync interval, the ring."""
    seen = collections.defaultdict(list)
    regions = [f"Region{n}" for n in range(30)]

    class Probe:
        @staticmethod
        def reconcile(key, env):
            seen[key.id].append(env.engine_id)

    kind = controller.Kind(
        name="probe", reconciler=Probe, workers=lambda conf: 4,
        lister=lambda env: [Key("probe", r, r) for r in regions],
        resync_interval=lambda conf: 3600)
    engines = _two_engines(db, kind)
    for engine in engines:
        engine.start()
    try:
        summaries = [engine.resync("probe") for engine in engines]
    finally:
        for engine in engines:
            engine.stop()
    assert sorted(seen) == sorted(regions) and all(len(v) == 1 for v in seen.values())
    assert sum(s["keys"] for s in summaries) == len(regions)
    assert all(0 < s["keys"] < len(regions) for s in summaries)
