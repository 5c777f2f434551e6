"""`multisite network topology show` against the real app over HTTP, its engine reading
in-memory Neutrons (the router converged by a run of the net_router kind)."""

import json

import pytest

from tests.functional.test_net_router_jobs import PROJECT, world  # noqa: F401  (fixture)
from tests.functional.test_routers_api import routed  # noqa: F401  (fixture)


@pytest.fixture
def project_id():
    return PROJECT


def test_topology_show_prints_each_pod_and_its_drift(cli, routed, world):  # noqa: F811
    code, out, err = cli("network", "topology", "show", routed, "-f", "json",
                         roles="member")
    assert code == 0, err
    rows = {r["Pod"]: r for r in json.loads(out)}
    assert sorted(rows) == ["RegionThree", "RegionTwo"]
    assert rows["RegionTwo"]["Bridge IP"] == "100.64.0.1"
    assert rows["RegionTwo"]["Interfaces"] == "10.0.1.0/24"
    assert rows["RegionTwo"]["Routes"] == "10.0.2.0/24 via 100.64.0.2"
    assert rows["RegionTwo"]["In sync"] is True and rows["RegionTwo"]["Drift"] == "-"
    assert f"Router {routed} (project {PROJECT}): 2 pods, in sync" in err
    (bottom,) = world.items["RegionThree"]["routers"].values()
    bottom["routes"] = []
    code, out, err = cli("network", "topology", "show", routed, "-f", "json",
                         roles="member")
    rows = {r["Pod"]: r for r in json.loads(out)}
    assert rows["RegionThree"]["In sync"] is False
    assert rows["RegionThree"]["Drift"] == "routes; top wants routes 10.0.1.0/24 via " \
                                           "100.64.0.1", rows
    assert "DRIFT" in err
    code, out, err = cli("network", "topology", "show", "nope", roles="member")
    assert code == 1 and "router.not_found" in err
