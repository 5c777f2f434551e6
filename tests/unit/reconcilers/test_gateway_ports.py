"""The bottom-port planner (reconcilers/gateway_ports.plan): a matrix."""

import datetime

import pytest

from multisite.clients.gateway_network import MADE_FOR_BOOT
from multisite.reconcilers import gateway_ports

NOW = datetime.datetime(2026, 12, 3, 12, 0, 0)
OLD = NOW - datetime.timedelta(seconds=600)
YOUNG = NOW - datetime.timedelta(seconds=10)


def routing(rid, top, bottom, created=OLD):
    return {"id": rid, "top_id": top, "bottom_id": bottom, "created_at": created}


def top(pid, made=False):
    return {"id": pid, "description": MADE_FOR_BOOT if made else ""}


def bottom(pid, device="", name=None):
    return {"id": pid, "device_id": device, "name": name or pid}


@pytest.mark.parametrize("routed, tops, bottoms, named, expected", [
    # both there, a server holds the bottom port: nothing to do
    ([routing(1, "t", "b")], [top("t", made=True)], [bottom("b", "vm")], [],
     ([], [], [], [])),
    # the user's own top port, unbound bottom port: kept (the user may boot again)
    ([routing(1, "t", "b")], [top("t")], [bottom("b")], [], ([], [], [], [])),
    # top port deleted behind the gateway's back: the bottom port goes
    ([routing(1, "t", "b")], [], [bottom("b", "vm")], [], (["b"], [], [1], [])),
    # both gone: the routing is forgotten
    ([routing(1, "t", "b")], [], [], [], ([], [], [1], [])),
    # bottom port deleted in the pod, the user's top port stays
    ([routing(1, "t", "b")], [top("t")], [], [], ([], [], [1], [])),
    # the gateway's port of a finished boot (no server holds it): both go
    ([routing(1, "t", "b")], [top("t", made=True)], [bottom("b")], [],
     (["b"], ["t"], [1], [])),
    ([routing(1, "t", "b")], [top("t", made=True)], [], [], ([], ["t"], [1], [])),
    # a boot in flight (younger than the grace): untouched
    ([routing(1, "t", "b", YOUNG)], [top("t", made=True)], [bottom("b")], [],
     ([], [], [], [])),
    ([routing(1, "t", None, YOUNG)], [], [], [], ([], [], [], [])),
    # interrupted realisation: adopt the port named after the top id (one, the others go)
    ([routing(1, "t", None)], [top("t")], [], [bottom("b2", name="t"), bottom("b1", name="t")],
     (["b2"], [], [], [(1, "b1")])),
    # interrupted, and the top port is gone: its bottom port goes, the routing too
    ([routing(1, "t", None)], [], [], [bottom("b1", name="t")], (["b1"], [], [1], [])),
    ([routing(1, "t", None)], [top("t")], [], [], ([], [], [1], [])),
])
def test_plan(routed, tops, bottoms, named, expected):
    decided = gateway_ports.plan(routed, {p["id"]: p for p in tops},
                                 {p["id"]: p for p in bottoms}, named, now=NOW, grace=300)
    assert (decided.delete_bottom, decided.delete_top, decided.forget,
            decided.adopt) == expected
