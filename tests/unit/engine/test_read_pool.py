"""engine.policy_audit.ReadPool: an audit's reads in threads, one wake-up per batch."""

import threading

import pytest

from multisite.engine.policy_audit import ReadPool


def test_items_run_at_once_and_come_back_in_order():
    pool = ReadPool(8)
    barrier = threading.Barrier(5, timeout=10)      # broken if the items run in turn

    def read(x):
        barrier.wait()
        return x * 10

    assert pool.map(read, range(5)) == [0, 10, 20, 30, 40]
    assert pool.map(lambda x: -x, [3]) == [-3]
    assert pool.map(read, []) == []
    assert pool._threads == 5                        # parked threads serve the next batch


def test_never_more_threads_than_its_size_and_callers_share_them():
    pool = ReadPool(3)
    running, peak, lock = [0], [0], threading.Lock()
    gate = threading.Event()

    def read(x):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait(10)
        with lock:
            running[0] -= 1
        return x

    results = {}
    callers = [threading.Thread(target=lambda n=n: results.setdefault(
        n, pool.map(read, range(n, n + 4)))) for n in (0, 10)]
    for t in callers:
        t.start()
    threading.Timer(0.2, gate.set).start()
    for t in callers:
        t.join(20)
    assert results == {0: [0, 1, 2, 3], 10: [10, 11, 12, 13]}
    assert peak[0] == 3 and pool._threads == 3


def test_an_error_is_raised_in_the_caller_after_every_item_ran():
    pool = ReadPool(4)
    ran = []

    def read(x):
        if x == 1:
            raise RuntimeError("boom")
        threading.Event().wait(0.05)
        ran.append(x)
        return x

    with pytest.raises(RuntimeError, match="boom"):
        pool.map(read, range(4))
    assert sorted(ran) == [0, 2, 3]
    assert pool.map(lambda x: x, [7, 8]) == [7, 8]     # the threads survived
