"""plan() of the router jobs (kind net_router): what each pod needs for east-west L3
between pods, decided from what the pods have and what the top says (no I/O)."""

from multisite.reconcilers import net_router
from multisite.reconcilers.net_router import Desired, Step, plan

R = "top-router"


def desired(**pods):
    """pods: name -> (bridge ip, {top subnet: cidr})."""
    wanted = Desired(router_id=R, project_id="p", segmentation_id=2000,
                     bridge_cidr="100.64.0.0/16", pods={})
    for pod, (ip, subnets) in pods.items():
        wanted.pods[pod] = {"bridge_ip": ip, "subnets": dict(subnets)}
        for subnet in subnets:
            wanted.subnet_network[subnet] = "net-" + subnet
    return wanted


def converged(wanted, pod):
    """What a pod looks like once the plan's steps were done."""
    subnets = {s: "b-" + s for s in wanted.pods[pod]["subnets"]}
    return {"bridge_network": "bn", "bridge_subnet": "bs",
            "networks": {wanted.subnet_network[s]: "bnet-" + s for s in subnets},
            "subnets": subnets, "interfaces": set(subnets.values()),
            "router": {"id": "r-" + pod, "routes": [
                {"destination": c, "nexthop": h} for c, h in wanted.routes(pod)],
                "external_gateway_info": {
                    "network_id": "bn", "enable_snat": False,
                    "external_fixed_ips": [{"subnet_id": "bs",
                                            "ip_address": wanted.pods[pod]["bridge_ip"]}]}}}


TWO = {"Pod1": ("100.64.0.1", {"s1": "10.0.1.0/24"}),
       "Pod2": ("100.64.0.2", {"s2": "10.0.2.0/24"})}


def test_two_empty_pods_get_the_whole_sequence_in_order():
    steps = plan({}, desired(**TWO))
    assert [s for s in steps if s.pod == "Pod1"] == [
        Step("Pod1", "bridge_network"), Step("Pod1", "bridge_subnet"),
        Step("Pod1", "network", "net-s1"), Step("Pod1", "subnet", "s1"),
        Step("Pod1", "router"), Step("Pod1", "gateway", "100.64.0.1"),
        Step("Pod1", "add_interface", "s1"),
        Step("Pod1", "routes", [("10.0.2.0/24", "100.64.0.2")])]
    assert Step("Pod2", "routes", [("10.0.1.0/24", "100.64.0.1")]) in steps


def test_redo_when_nothing_changed_plans_nothing():
    wanted = desired(**TWO)
    observed = {pod: converged(wanted, pod) for pod in wanted.pods}
    assert plan(observed, wanted) == []


def test_a_third_pod_updates_the_routes_of_the_other_two():
    before = desired(**TWO)
    observed = {pod: converged(before, pod) for pod in before.pods}
    after = desired(**TWO, Pod3=("100.64.0.3", {"s3": "10.0.3.0/24"}))
    steps = plan(observed, after)
    assert Step("Pod1", "routes", [("10.0.2.0/24", "100.64.0.2"),
                                   ("10.0.3.0/24", "100.64.0.3")]) in steps
    assert Step("Pod2", "routes", [("10.0.1.0/24", "100.64.0.1"),
                                   ("10.0.3.0/24", "100.64.0.3")]) in steps
    assert [s.op for s in steps if s.pod in ("Pod1", "Pod2")] == ["routes", "routes"]
    assert Step("Pod3", "router") in steps


def test_a_pod_removed_loses_its_router_in_order_and_the_others_their_routes():
    three = desired(**TWO, Pod3=("100.64.0.3", {"s3": "10.0.3.0/24"}))
    observed = {pod: converged(three, pod) for pod in three.pods}
    steps = plan(observed, desired(**TWO))
    assert [s for s in steps if s.pod == "Pod3"] == [
        Step("Pod3", "routes", []), Step("Pod3", "remove_interface", "b-s3"),
        Step("Pod3", "delete_router"), Step("Pod3", "delete_bridge")]
    assert Step("Pod1", "routes", [("10.0.2.0/24", "100.64.0.2")]) in steps


def test_an_interface_removed_in_a_pod():
    wanted = desired(Pod1=("100.64.0.1", {"s1": "10.0.1.0/24", "s4": "10.0.4.0/24"}),
                     Pod2=TWO["Pod2"])
    observed = {pod: converged(wanted, pod) for pod in wanted.pods}
    steps = plan(observed, desired(**TWO))
    assert Step("Pod1", "remove_interface", "b-s4") in steps
    assert Step("Pod2", "routes", [("10.0.1.0/24", "100.64.0.1")]) in steps


def test_a_gateway_with_snat_or_another_ip_is_set_again():
    wanted = desired(**TWO)
    observed = {pod: converged(wanted, pod) for pod in wanted.pods}
    observed["Pod1"]["router"]["external_gateway_info"]["enable_snat"] = True
    observed["Pod2"]["router"]["external_gateway_info"]["external_fixed_ips"][0][
        "ip_address"] = "100.64.0.9"
    assert plan(observed, wanted) == [Step("Pod1", "gateway", "100.64.0.1"),
                                      Step("Pod2", "gateway", "100.64.0.2")]


def test_a_router_deleted_at_the_top_removes_every_bottom_router():
    wanted = desired(**TWO)
    observed = {pod: converged(wanted, pod) for pod in wanted.pods}
    observed["Pod2"]["bridge_shared"] = True        # another router of the tenant there
    steps = plan(observed, desired())
    assert [s.op for s in steps] == ["routes", "remove_interface", "delete_router",
                                     "delete_bridge", "routes", "remove_interface",
                                     "delete_router"]


def test_two_subnets_in_one_pod_are_not_routed_to_each_other():
    wanted = desired(Pod1=("100.64.0.1", {"s1": "10.0.1.0/24", "s4": "10.0.4.0/24"}),
                     Pod2=TWO["Pod2"])
    assert wanted.routes("Pod1") == [("10.0.2.0/24", "100.64.0.2")]
    assert wanted.routes("Pod2") == [("10.0.1.0/24", "100.64.0.1"),
                                     ("10.0.4.0/24", "100.64.0.1")]


def test_overlapping_cidrs_of_two_pods_are_a_conflict():
    wanted = desired(Pod1=("100.64.0.1", {"s1": "10.0.0.0/16"}),
                     Pod2=("100.64.0.2", {"s2": "10.0.2.0/24"}))
    assert net_router.overlaps(wanted) == [("10.0.0.0/16", "10.0.2.0/24")]
    assert net_router.overlaps(desired(**TWO)) == []
