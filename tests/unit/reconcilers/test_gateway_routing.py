"""The interrupted-create planner (reconcilers/gateway_routing.plan): a matrix."""

import datetime

import pytest

from multisite.reconcilers import gateway_routing

NOW = datetime.datetime(2026, 12, 3, 12, 0, 0)
OLD = NOW - datetime.timedelta(seconds=600)
YOUNG = NOW - datetime.timedelta(seconds=10)


def routing(rid, created=OLD):
    return {"id": rid, "created_at": created}


def server(sid, tag, created="2026-12-03T11:50:00Z"):
    return {"id": sid, "tag": str(tag), "created": created}


@pytest.mark.parametrize("pending, servers, adopt, delete, forget", [
    # the pod made it: adopt
    ([routing(1)], [server("s1", 1)], [(1, "s1")], [], []),
    # the pod never made it: forget
    ([routing(1)], [], [], [], [1]),
    # a create in flight (younger than the grace): untouched
    ([routing(1, YOUNG)], [server("s1", 1)], [], [], []),
    ([routing(1, YOUNG)], [], [], [], []),
    # two servers for one create (a retried POST): the oldest adopted, the other deleted
    ([routing(1)], [server("s2", 1, "2026-12-03T11:51:00Z"), server("s1", 1)],
     [(1, "s1")], ["s2"], []),
    # servers tagged by other (complete) routings are not this pass's business
    ([routing(2)], [server("s1", 1)], [], [], [2]),
    ([routing(1), routing(2)], [server("a", 2)], [(2, "a")], [], [1]),
])
def test_plan(pending, servers, adopt, delete, forget):
    decided = gateway_routing.plan(pending, servers, now=NOW, grace=300)
    assert (decided.adopt, decided.delete, decided.forget) == (adopt, delete, forget)


def done(rid, bottom, created=OLD):
    return {"id": rid, "bottom_id": bottom, "created_at": created}


@pytest.mark.parametrize("routed, present, expect", [
    ([done(1, "a")], {"a"}, []),                         # still in the pod
    ([done(1, "a")], set(), [(1, "a")]),                 # gone: to confirm
    ([done(1, "a", YOUNG)], set(), []),                  # just made: maybe not listed yet
    ([done(2, "b"), done(1, "a")], {"b"}, [(1, "a")]),
    ([done(1, "a"), done(2, "b")], set(), [(1, "a"), (2, "b")]),
])
def test_stale(routed, present, expect):
    assert gateway_routing.stale(routed, present, now=NOW, grace=300) == expect
