"""The seed's cross-pod scenario (issue 17) on the FULL devcloud, everything at the top with
the real `openstack` CLI of a project member through the gateway (compute and network
endpoints overridden in its clouds.yaml): net1 (10.0.1.0/24, az1 = RegionTwo) and net2
(10.0.2.0/24, az2 = RegionThree); groups `web` and `db` (db: tcp 5432 from web); a port on
each net in both groups and a server booted on it in its zone, ACTIVE in its pod; a top
router with both subnets.

The gateway registers the router jobs (router_setup) and, at each boot, the project's
seg_rule_setup job; controllers of the registry's `net_router` and `net_secgroup` kinds
run them as an engine does (test_net_router.run, test_net_security_groups.run). Each pod's
own Neutron (admin) is the witness: the bottom router with its interface, its gateway on
the bridge network (one segmentation id in both pods), the extra route to the other pod's
CIDR via the other pod's bridge IP; both groups copied, db's remote-group rule naming the
pod's copy of web. Teardown through the gateway with the CLI leaves no bottom server,
port, router, bridge, network or group in either pod.
"""

import time
import types

import pytest

from multisite.objects import bridges, jobs
from multisite.reconcilers import net_router
from tests.integration import test_net_router as router_test
from tests.integration import test_net_security_groups as sg_test
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_full import (  # noqa: F401  (fixtures)
    Cli,
    image_and_flavor,
    pod_server,
    sweep,
    wait_status,
)
from tests.integration.test_gateway_neutron import member_network, nconf  # noqa: F401
from tests.integration.test_net_router import lconf  # noqa: F401  (fixture)
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]

CIDRS = router_test.CIDRS       # RegionTwo 10.0.1.0/24, RegionThree 10.0.2.0/24
ZONES = router_test.ZONES
OTHER = {"RegionTwo": "RegionThree", "RegionThree": "RegionTwo"}


@pytest.fixture
def devcloud(devcloud_full):
    if len(devcloud_full.regions) < 3:
        pytest.skip("needs 3 regions (top + 2 pods) in the full devcloud")
    return devcloud_full


def test_cross_pod_servers_routed_and_grouped_with_the_openstack_cli(
        devcloud, fresh_project, sweep, gateway, lconf, image_and_flavor):  # noqa: F811
    cli = Cli(devcloud, fresh_project, gateway)
    image_id, _, flavor_name = image_and_flavor
    project = fresh_project.id
    nets, subnets, ports, servers, groups, router = {}, {}, {}, {}, {}, None
    times = {}
    try:
        for name in ("web", "db"):
            groups[name] = cli.json("security", "group", "create", name)["id"]
        cli.json("security", "group", "rule", "create", "--ingress", "--protocol", "tcp",
                 "--dst-port", "5432", "--remote-group", groups["web"], groups["db"])
        for pod, cidr in CIDRS.items():
            nets[pod] = cli.json("network", "create", "--availability-zone-hint",
                                 ZONES[pod], f"h17-net-{pod}")["id"]
            subnets[pod] = cli.json("subnet", "create", "--network", nets[pod],
                                    "--subnet-range", cidr, f"h17-sub-{pod}")["id"]
            ports[pod] = cli.json("port", "create", "--network", nets[pod],
                                  "--security-group", groups["web"],
                                  "--security-group", groups["db"], f"h17-port-{pod}")["id"]
        t0 = time.monotonic()
        for pod in CIDRS:
            servers[pod] = cli.json("server", "create", "--availability-zone", ZONES[pod],
                                    "--image", image_id, "--flavor", flavor_name,
                                    "--nic", f"port-id={ports[pod]}", f"h17-vm-{pod}")["id"]
        for pod in CIDRS:
            wait_status(lambda p=pod: pod_server(devcloud, p, servers[p]), "ACTIVE",
                        timeout=300, what=f"server {servers[pod]} ACTIVE in {pod}")
        times["servers ACTIVE"] = round(time.monotonic() - t0, 1)

        # the top router with both subnets: one router_setup job per pod, one run
        router = cli.json("router", "create", "h17-east-west")["id"]
        t0 = time.monotonic()
        for pod in CIDRS:
            cli.run("router", "add", "subnet", router, subnets[pod])
        times["interfaces added (CLI)"] = round(time.monotonic() - t0, 1)
        made = [j for j in jobs.list_jobs(lconf, project_id=project)[0]
                if j["type"] == "router_setup"]
        assert len(made) == 2 and {j["status"] for j in made} == {"NEW"}, made
        t0 = time.monotonic()
        status, writes = router_test.run(lconf, router)
        times["router run"] = round(time.monotonic() - t0, 1)
        assert status == "DONE"
        assert [jobs.get(lconf, j["id"])["status"] for j in made] == ["SUCCESS"] * 2
        # the tenant networks and subnets are the servers' (the boot made them): the
        # rest of the sequence - bridge net, bridge subnet, router, gateway, interface,
        # routes
        assert writes == {"RegionTwo": 6, "RegionThree": 6}, writes

        seg = bridges.segment(lconf, project)
        bottoms, bridge_ips = {}, {}
        for pod in CIDRS:
            admin = devcloud.admin_connection(pod).network
            (bottoms[pod],) = list(admin.routers(name=router))
            (bridge,) = list(admin.networks(name=net_router.bridge_name(project)))
            assert (bridge.provider_network_type, bridge.provider_segmentation_id) == (
                "vlan", seg), (pod, bridge)
            info = bottoms[pod].external_gateway_info
            assert info["network_id"] == bridge.id and info["enable_snat"] is False
            bridge_ips[pod] = info["external_fixed_ips"][0]["ip_address"]
            (bsub,) = list(admin.subnets(name=subnets[pod]))
            assert bsub.cidr == CIDRS[pod]
            interfaces = list(admin.ports(device_id=bottoms[pod].id,
                                          device_owner="network:router_interface"))
            assert [p.fixed_ips[0]["subnet_id"] for p in interfaces] == [bsub.id], pod
            # the server's bottom port is on the same bottom subnet
            (vm_port,) = list(admin.ports(device_id=servers[pod]))
            assert vm_port.fixed_ips[0]["subnet_id"] == bsub.id
        assert len(set(bridge_ips.values())) == 2, bridge_ips
        for pod in CIDRS:
            assert bottoms[pod].routes == [{"destination": CIDRS[OTHER[pod]],
                                            "nexthop": bridge_ips[OTHER[pod]]}], pod

        # the groups: each boot copied the port's groups and registered seg_rule_setup;
        # one run maps db's remote-group rule to each pod's copy of web
        seg_jobs = [j for j in jobs.list_jobs(lconf, project_id=project)[0]
                    if j["type"] == "seg_rule_setup"]
        assert seg_jobs, jobs.list_jobs(lconf, project_id=project)[0]
        for pod in CIDRS:   # the boots copied db without its web rule
            found = sg_test.copies(devcloud, pod, project)
            assert sg_test.remote_rules(found[groups["db"]]) == [], pod
        t0 = time.monotonic()
        assert sg_test.run(lconf, project) == "DONE"
        times["security-group run"] = round(time.monotonic() - t0, 1)
        assert {jobs.get(lconf, j["id"])["status"] for j in seg_jobs} == {"SUCCESS"}
        for pod in CIDRS:
            found = sg_test.copies(devcloud, pod, project)
            web, db = found[groups["web"]], found[groups["db"]]
            assert sg_test.remote_rules(db) == [(5432, web.id)], (pod, db)
            (vm_port,) = list(devcloud.admin_connection(pod).network.ports(
                device_id=servers[pod]))
            assert sorted(vm_port.security_group_ids) == sorted([web.id, db.id]), pod

        # a new job on the converged router (a redo) writes nothing
        jobs.create(lconf, project_id=project, job_type="configure_route",
                    resource={"router_id": router})
        status, writes = router_test.run(lconf, router)
        assert status == "DONE" and writes == {}, writes

        # teardown through the gateway with the CLI
        t0 = time.monotonic()
        for pod in CIDRS:
            cli.run("server", "delete", servers[pod])
        for pod in CIDRS:
            wait_for(lambda p=pod: pod_server(devcloud, p, servers[p]) is None,
                     timeout=300, what=f"server {servers[pod]} gone from {pod}")
        for pod in CIDRS:
            cli.run("router", "remove", "subnet", router, subnets[pod])
        cli.run("router", "delete", router)
        (teardown,) = jobs.list_jobs(lconf, project_id=project, status="NEW")[0]
        assert teardown["type"] == "configure_route", teardown
        status, _ = router_test.run(lconf, router)
        assert status == "DONE"
        cli.run("port", "delete", *ports.values())
        cli.run("security", "group", "delete", groups["db"], groups["web"])
        cli.run("network", "delete", *nets.values())
        times["teardown"] = round(time.monotonic() - t0, 1)
        print(f"\nnet17 full scenario times (s): {times}")
        for pod in CIDRS:
            admin = devcloud.admin_connection(pod)
            assert pod_server(devcloud, pod, servers[pod]) is None
            assert list(admin.network.routers(name=router)) == [], pod
            assert list(admin.network.networks(name=net_router.bridge_name(project))) == []
            assert list(admin.network.ports(project_id=project)) == [], pod
            assert list(admin.network.networks(project_id=project)) == [], pod
            assert list(admin.network.subnets(project_id=project)) == [], pod
            left = {g.name for g in admin.network.security_groups(project_id=project)}
            assert not {groups["web"], groups["db"]} & left, (pod, left)
    finally:
        # whatever a failure left: the top router (through the gateway), the pods' bottom
        # routers and bridges (admin); `sweep` then takes the project's servers, ports,
        # networks and groups in every region
        if router is not None:
            sdk = member_network(devcloud, fresh_project, gateway)
            router_test.drop_router(sdk, router, [types.SimpleNamespace(id=s)
                                                  for s in subnets.values()])
        router_test.cleanup_pods(devcloud, project, router or "-", list(nets.values()))
