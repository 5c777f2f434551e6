"""The sync manager's in-memory state: the per-key lock table and the source snapshots."""

import threading
import time

from multisite.engine import sync_manager


def test_key_locks_are_removed_after_the_last_user():
    locks = sync_manager.KeyLocks()
    for i in range(1000):
        with locks.hold(("keypair", f"k{i}", "RegionTwo")):
            assert len(locks) == 1
    assert len(locks) == 0


def test_key_locks_exclude_per_key_and_survive_waiters():
    locks = sync_manager.KeyLocks()
    key = ("image", "i", "RegionTwo")
    inside, overlap = [0], []
    gate = threading.Barrier(8)

    def work():
        gate.wait()
        for _ in range(20):
            with locks.hold(key):
                inside[0] += 1
                overlap.append(inside[0])
                time.sleep(0.0005)
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    with locks.hold(("image", "other", "RegionTwo")):  # another key is not blocked
        pass
    for thread in threads:
        thread.join()
    assert max(overlap) == 1 and len(overlap) == 160
    assert len(locks) == 0


def test_key_lock_released_when_the_body_raises():
    locks = sync_manager.KeyLocks()
    try:
        with locks.hold("k"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert len(locks) == 0
    with locks.hold("k"):
        pass


def test_snapshots_are_per_job_copied_expiring_and_bounded():
    now = [100.0]
    snaps = sync_manager.SourceSnapshots(ttl=10, max_entries=3, clock=lambda: now[0])
    key = ("keypair", "RegionOne", "k", "u")
    value = {"name": "k", "public_key": "A"}
    snaps.put("job1", key, value)
    value["public_key"] = "changed"
    assert snaps.get("job1", key)["public_key"] == "A"
    assert snaps.get("job2", key) is None          # another job never sees it
    snaps.put(None, key, value)                     # no job id: nothing kept
    assert len(snaps) == 1
    now[0] += 11
    assert snaps.get("job1", key) is None           # expired
    for i in range(5):
        snaps.put(f"j{i}", key, value)
    assert len(snaps) == 3                          # the oldest went first
    assert snaps.get("j0", key) is None and snaps.get("j4", key) is not None
