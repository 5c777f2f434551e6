"""plan() of the router jobs with north-south (net_north_south): the top router's gateway
on an external network of one pod, floating IPs there on the real port or a shadow port
(no I/O)."""

from multisite.reconcilers.net_router import Step, plan
from tests.unit.reconcilers.test_net_router_plan import TWO, converged, desired

EXT = {"pod": "Pod2", "network": "ext", "subnet": "ext-sub", "ip": "198.51.100.5",
       "snat": True}


def north_south(fips=None, **pods):
    wanted = desired(**(pods or TWO))
    wanted.external = dict(EXT)
    wanted.floatingips = dict(fips or {})
    return wanted


def fip(port_pod, bottom_port=None):
    return {"address": "198.51.100.9", "fixed_ip": "10.0.1.5", "port": "port1",
            "subnet": "s1", "network": "net-s1", "mac": "fa:16:3e:00:00:01",
            "port_pod": port_pod, "bottom_port": bottom_port}


def converged_ns(wanted, pod):
    """A pod once the plan's north-south steps were done too."""
    seen = converged(wanted, pod)
    seen.update(shadow_ports={}, shadow_networks={}, shadow_subnets={}, floatingips={})
    if pod != wanted.external["pod"]:
        return seen
    seen.update(ext_network="bext", ext_subnet="bext-sub")
    seen["router"]["external_gateway_info"] = {
        "network_id": "bext", "enable_snat": True,
        "external_fixed_ips": [{"subnet_id": "bext-sub", "ip_address": "198.51.100.5"}]}
    seen["interfaces"].add("bs")
    for top, spec in wanted.floatingips.items():
        port = spec["bottom_port"]
        if spec["port_pod"] != pod:
            seen["shadow_networks"][spec["network"]] = "sh-net"
            seen["shadow_subnets"][spec["subnet"]] = "sh-sub"
            seen["interfaces"].add("sh-sub")
            port = "sh-port"
            seen["shadow_ports"][spec["port"]] = {
                "id": port, "mac_address": spec["mac"],
                "fixed_ips": [{"subnet_id": "sh-sub", "ip_address": spec["fixed_ip"]}]}
        seen["floatingips"][top] = {"id": "b-" + top, "port_id": port,
                                    "floating_ip_address": spec["address"],
                                    "fixed_ip_address": spec["fixed_ip"]}
    return seen


def test_the_external_pod_gets_the_gateway_and_the_bridge_as_an_interface():
    wanted = north_south()
    wanted.pods["Pod2"]["bridge_ip"] = "100.64.0.2"
    steps = plan({}, wanted)
    assert [s for s in steps if s.pod == "Pod2"] == [
        Step("Pod2", "bridge_network"), Step("Pod2", "bridge_subnet"),
        Step("Pod2", "network", "net-s2"), Step("Pod2", "subnet", "s2"),
        Step("Pod2", "router"), Step("Pod2", "ext_network"), Step("Pod2", "ext_subnet"),
        Step("Pod2", "ext_gateway"), Step("Pod2", "bridge_interface", "100.64.0.2"),
        Step("Pod2", "add_interface", "s2"),
        Step("Pod2", "routes", [("10.0.1.0/24", "100.64.0.1")])]
    # the other pod: the bridge gateway as before, a default route via the external pod
    assert Step("Pod1", "gateway", "100.64.0.1") in steps
    assert Step("Pod1", "routes", [("0.0.0.0/0", "100.64.0.2"),
                                   ("10.0.2.0/24", "100.64.0.2")]) in steps


def test_a_converged_pod_with_gateway_and_floating_ip_plans_nothing():
    for where in ("Pod1", "Pod2"):
        wanted = north_south({"f1": fip(where, "b-port1" if where == "Pod2" else None)})
        observed = {pod: converged_ns(wanted, pod) for pod in wanted.pods}
        assert plan(observed, wanted) == [], where


def test_the_gateway_set_on_a_routed_router_moves_it_off_the_bridge():
    before = desired(**TWO)
    observed = {pod: converged(before, pod) for pod in before.pods}
    observed["Pod2"].update(ext_network="bext", ext_subnet="bext-sub")
    steps = plan(observed, north_south())
    assert steps == [Step("Pod1", "routes", [("0.0.0.0/0", "100.64.0.2"),
                                             ("10.0.2.0/24", "100.64.0.2")]),
                     Step("Pod2", "ext_gateway"),
                     Step("Pod2", "bridge_interface", "100.64.0.2")]


def test_a_floating_ip_of_a_port_in_another_pod_gets_a_shadow_port_first():
    wanted = north_south({"f1": fip("Pod1")})
    observed = {pod: converged_ns(north_south(), pod) for pod in wanted.pods}
    assert plan(observed, wanted) == [
        Step("Pod2", "shadow_network", "net-s1"), Step("Pod2", "shadow_subnet", "s1"),
        Step("Pod2", "shadow_interface", "s1"), Step("Pod2", "shadow_port", "port1"),
        Step("Pod2", "fip", "f1")]


def test_a_floating_ip_of_a_port_in_the_external_pod_needs_no_shadow():
    wanted = north_south({"f1": fip("Pod2", "b-port1")})
    observed = {pod: converged_ns(north_south(), pod) for pod in wanted.pods}
    assert plan(observed, wanted) == [Step("Pod2", "fip", "f1")]


def test_disassociated_the_floating_ip_and_the_shadow_go_in_order():
    wanted = north_south({"f1": fip("Pod1")})
    observed = {pod: converged_ns(wanted, pod) for pod in wanted.pods}
    assert plan(observed, north_south()) == [
        Step("Pod2", "delete_fip", "b-f1"), Step("Pod2", "delete_shadow_port", "sh-port"),
        Step("Pod2", "remove_interface", "sh-sub"),
        Step("Pod2", "delete_shadow_network", "sh-net")]


def test_a_floating_ip_moved_to_another_port_is_made_again():
    wanted = north_south({"f1": fip("Pod1")})
    observed = {pod: converged_ns(wanted, pod) for pod in wanted.pods}
    moved = north_south({"f1": dict(fip("Pod1"), fixed_ip="10.0.1.6")})
    steps = plan(observed, moved)
    assert steps == [Step("Pod2", "delete_fip", "b-f1"),
                     Step("Pod2", "delete_shadow_port", "sh-port"),
                     Step("Pod2", "shadow_port", "port1"), Step("Pod2", "fip", "f1")]


def test_the_gateway_unset_frees_the_bridge_ip_before_the_bridge_gateway():
    wanted = north_south(**{**TWO, "Pod2": ("100.64.0.2", {"s2": "10.0.2.0/24"})})
    observed = {pod: converged_ns(wanted, pod) for pod in wanted.pods}
    steps = plan(observed, desired(**TWO))
    assert steps == [Step("Pod1", "routes", [("10.0.2.0/24", "100.64.0.2")]),
                     Step("Pod2", "remove_interface", "bs"),
                     Step("Pod2", "gateway", "100.64.0.2")]


def test_the_external_pod_without_subnets_of_its_own_goes_with_its_floating_ips():
    only = {"Pod1": TWO["Pod1"], "Pod2": ("100.64.0.2", {})}
    wanted = north_south({"f1": fip("Pod1")}, **only)
    observed = {pod: converged_ns(wanted, pod) for pod in wanted.pods}
    assert plan(observed, wanted) == []
    steps = plan(observed, desired(Pod1=TWO["Pod1"]))     # gateway unset at the top
    assert [s for s in steps if s.pod == "Pod2"] == [
        Step("Pod2", "delete_fip", "b-f1"), Step("Pod2", "delete_shadow_port", "sh-port"),
        Step("Pod2", "routes", []), Step("Pod2", "remove_interface", "bs"),
        Step("Pod2", "remove_interface", "sh-sub"), Step("Pod2", "delete_router"),
        Step("Pod2", "delete_shadow_network", "sh-net"), Step("Pod2", "delete_bridge")]
