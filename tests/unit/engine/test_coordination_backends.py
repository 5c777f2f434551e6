"""tooz backends the engines can share: membership, exclusive project locks, expiry."""

import socket
import time
import uuid

import pytest

from multisite.engine import coordination
from multisite.objects import services
from tests.conftest import require_service


def _open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


BACKENDS = {
    "file": (None, None),
    "redis": ("redis://127.0.0.1:6379", 6379),
    "mysql": ("mysql://root@127.0.0.1:3306/mysql", 3306),
    "postgresql": ("postgresql://postgres@127.0.0.1:5432/postgres", 5432),
}


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def backend(request, db, tmp_path):
    url, port = BACKENDS[request.param]
    if port is not None:
        require_service(request.param, _open(port), f"127.0.0.1:{port}")
    db.set_override("backend_url", url or f"file://{tmp_path / 'locks'}",
                    group="coordination")
    db.set_override("report_interval", 1)
    made = []

    def make():
        member = str(uuid.uuid4())
        services.report(db, service_id=member, host="h", binary="multisite-engine", topic="t")
        c = coordination.Coordinator(db, member)
        c.start()
        made.append(c)
        return c

    yield request.param, make
    for c in made:
        c.stop()
    db.clear_override("report_interval")


def test_members_and_exclusive_locks(backend, db):
    _name, make = backend
    # membership lasts 2 report intervals: 1 s (the fixture's, for the expiry test) let a
    # member's heartbeat, late on a loaded machine, drop it from the other's view once
    db.set_override("report_interval", 10)
    a, b = make(), make()
    assert a.refresh() == b.refresh() == sorted([a.member_id, b.member_id])
    project = uuid.uuid4().hex
    assert a.owner(project) == b.owner(project)
    la, lb = a.lock(project), b.lock(project)
    assert la.acquire(blocking=False)
    assert not lb.acquire(blocking=False)
    la.release()
    assert lb.acquire(blocking=False)
    lb.release()


# Expiry by timeout is Redis's; file and SQL locks die with the process/connection.
@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_redis_lock_of_a_silent_engine_expires(backend):
    _name, make = backend
    a, b = make(), make()
    project = uuid.uuid4().hex
    assert a.lock(project).acquire(blocking=False)
    a._stop.set()                         # a "crashes": no more heartbeats, no release
    a._thread.join(timeout=5)
    lb = b.lock(project)
    assert not lb.acquire(blocking=False)
    deadline = time.monotonic() + 2 * coordination.expiry_seconds(a.conf) + 1
    while not lb.acquire(blocking=False):
        assert time.monotonic() < deadline, "the lock did not expire"
        time.sleep(0.2)
    lb.release()


def test_file_membership_lasts_between_heartbeats(db, tmp_path):
    """A peer whose last heartbeat is older than tooz's default (10 s) but younger than
    2 x report_interval is still a member (report_interval 30: beats every 20 s)."""
    import os

    locks = tmp_path / "locks"
    db.set_override("backend_url", f"file://{locks}", group="coordination")
    db.set_override("report_interval", 30)
    made = []
    try:
        for _ in range(2):
            member = str(uuid.uuid4())
            services.report(db, service_id=member, host="h", binary="multisite-engine",
                            topic="t")
            made.append(coordination.Coordinator(db, member))
            made[-1].start()
        a, b = made
        # b's last beat was 15 s ago
        member_files = [p for p in locks.rglob("*.raw") if "groups" in str(p)]
        assert len(member_files) == 2
        past = time.time() - 15
        for path in member_files:
            os.utime(path, (past, past))
        assert a.refresh() == sorted([a.member_id, b.member_id])
        # ... and one silent for longer than 2 x report_interval is gone
        past = time.time() - 61
        for path in member_files:
            os.utime(path, (past, past))
        assert a.refresh() == [a.member_id]
    finally:
        for c in made:
            c.stop()
        db.clear_override("report_interval")
