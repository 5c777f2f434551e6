"""The controller in virtual time: one Outcome type, retries, terminal errors, metrics."""

import logging
import time

import pytest

from multisite import reconcilers
from multisite.engine import controller, queue
from multisite.reconcilers import Key, Outcome, PermanentError, TemporaryError

K = Key("toy", "obj-1", "RegionOne")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Script:
    """A reconciler that answers from a list: Outcomes, exceptions, or None."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def reconcile(self, key, env):
        self.calls.append((key, env.attempts, env.item))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Recorder(controller.Metrics):
    def __init__(self):
        self.outcomes = []

    def outcome(self, kind, status, seconds):
        self.outcomes.append((kind, status))


class MemoryLeases:
    """Leases of items held in memory (the DB-backed ones are tested in test_leases)."""

    scan_interval = renew_period = 1.0

    def __init__(self, items):
        self.items = {i["id"]: dict(i, status="WAITING") for i in items}
        self.log = []

    def key(self, item):
        return Key("toy", item["id"], item.get("region"))

    def claim(self, *, limit, parent_id=None):
        out = [i for i in self.items.values() if i["status"] == "WAITING"][:limit]
        for i in out:
            i["status"] = "CLAIMED"
            i["attempts"] = i.get("attempts", 0) + 1
        return [dict(i) for i in out]

    def renew(self, items):
        self.log.append(("renew", sorted(i["id"] for i in items)))

    def requeue(self, item, *, delay, error, attempt):
        self.items[item["id"]]["status"] = "WAITING"
        self.log.append(("requeue", item["id"], delay, error, attempt))

    def finish(self, item, *, ok, error=None):
        self.items[item["id"]]["status"] = "DONE" if ok else "FAILED"
        self.log.append(("finish", item["id"], ok, error))


def make(script, *, leases=None, retry=None, clock=None, rand=lambda: 0.5):
    clock = clock or Clock()
    kind = controller.Kind(name="toy", reconciler=script, workers=lambda conf: 2,
                           retry=lambda conf: retry or controller.Retry(
                               base=5, cap=60, jitter=0.2, max_attempts=3))
    q = queue.WorkQueue(clock=clock)
    metrics = Recorder()
    ctl = controller.Controller(kind, conf=None, engine_id="e1", queue=q, leases=leases,
                                metrics=metrics, clock=clock, rand=rand)
    return ctl, q, clock, metrics


def run_one(ctl, q):
    key = q.get("toy")
    assert key is not None
    outcome = ctl.process(key)
    q.done(key)
    return outcome


def test_none_is_done_and_nothing_is_requeued():
    ctl, q, clock, metrics = make(Script(None))
    q.add(K)
    assert run_one(ctl, q).status == reconcilers.DONE
    clock.now += 1e6
    assert q.get("toy") is None and metrics.outcomes == [("toy", "done")]


def test_requeue_after_comes_back_at_its_time():
    script = Script(Outcome.requeue_after(30), Outcome.done())
    ctl, q, clock, _ = make(script)
    q.add(K)
    assert run_one(ctl, q).delay == 30
    clock.now += 29
    assert q.get("toy") is None
    clock.now += 1
    assert run_one(ctl, q).status == reconcilers.DONE
    assert [attempts for _, attempts, _ in script.calls] == [1, 1]   # not a failure


def test_temporary_errors_back_off_with_jitter_then_give_up():
    script = Script(TemporaryError("503"), TemporaryError("503"), TemporaryError("503"))
    ctl, q, clock, metrics = make(script, rand=lambda: 1.0)     # +20 %
    q.add(K)
    first = run_one(ctl, q)
    assert (first.status, first.delay) == (reconcilers.TEMPORARY, 6.0)
    clock.now += 6.0
    second = run_one(ctl, q)
    assert second.delay == 12.0
    clock.now += 11.9
    assert q.get("toy") is None
    clock.now += 0.1
    third = run_one(ctl, q)
    assert third.status == reconcilers.PERMANENT
    assert third.reason == "gave up after 3 attempts: 503"
    clock.now += 1e6
    assert q.get("toy") is None
    assert [a for _, a, _ in script.calls] == [1, 2, 3]
    assert [s for _, s in metrics.outcomes] == ["temporary", "temporary", "permanent"]


def test_a_temporary_error_may_name_its_delay_and_success_resets_the_count():
    script = Script(TemporaryError("busy", delay=2), None, TemporaryError("x"))
    ctl, q, clock, _ = make(script)
    q.add(K)
    assert run_one(ctl, q).delay == 2
    clock.now += 2
    assert run_one(ctl, q).status == reconcilers.DONE
    q.add(K)
    assert run_one(ctl, q).delay == 5.0                         # attempt 1 again
    assert [a for _, a, _ in script.calls] == [1, 2, 1]


def test_permanent_error_is_terminal():
    ctl, q, clock, _ = make(Script(PermanentError("bad request")))
    q.add(K)
    outcome = run_one(ctl, q)
    assert (outcome.status, outcome.reason) == (reconcilers.PERMANENT, "bad request")
    clock.now += 1e6
    assert q.get("toy") is None


def test_a_crash_is_terminal_and_logged_with_its_traceback(caplog):
    ctl, q, clock, metrics = make(Script(ZeroDivisionError("oops")))
    q.add(K)
    with caplog.at_level(logging.INFO, logger="multisite.engine.controller"):
        outcome = run_one(ctl, q)
    assert outcome.status == reconcilers.CRASH
    assert outcome.reason == "internal error: ZeroDivisionError: oops"
    clock.now += 1e6
    assert q.get("toy") is None
    crashed = [r for r in caplog.records if r.exc_info]
    assert len(crashed) == 1 and "Work crashed" in crashed[0].getMessage()
    lines = [r.getMessage() for r in caplog.records if "Work outcome" in r.getMessage()]
    assert len(lines) == 1 and "outcome=crash" in lines[0] and "kind=toy" in lines[0]
    assert metrics.outcomes == [("toy", "crash")]


@pytest.mark.parametrize("answer,expected", [
    (None, ("finish", "i1", True, None)),
    (PermanentError("no"), ("finish", "i1", False, "no")),
    (KeyError("k"), ("finish", "i1", False, "internal error: KeyError: 'k'")),
    (TemporaryError("later", delay=7), ("requeue", "i1", 7, "later", True)),
    (Outcome.requeue_after(9), ("requeue", "i1", 9.0, "", False)),
])
def test_durable_items_record_their_outcome_in_the_lease(answer, expected):
    leases = MemoryLeases([{"id": "i1", "region": "R"}])
    script = Script(answer)
    ctl, q, _, _ = make(script, leases=leases)
    ctl.start()
    try:
        claimed = ctl.leases.claim(limit=1)
        ctl._items[leases.key(claimed[0])] = claimed[0]      # as scan() does before pump
        q.add(leases.key(claimed[0]))
        run_one(ctl, q)
    finally:
        ctl.stop()
    assert leases.log == [expected]
    assert script.calls[0][2]["id"] == "i1" and ctl.in_flight() == 0


def test_scan_claims_no_more_than_the_free_workers_and_runs_them():
    leases = MemoryLeases([{"id": f"i{n}", "region": "R"} for n in range(5)])
    script = Script(*[None] * 5)
    ctl, q, _, _ = make(script, leases=leases)
    ctl.start()
    try:
        started = ctl.scan()
        assert len(started) == 2                                  # workers=2
        deadline = time.monotonic() + 5
        while len([e for e in leases.log if e[0] == "finish"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        ctl.stop()
