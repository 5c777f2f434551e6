"""North-south through the big region (issue 17) on the API-only devcloud's real Neutrons,
everything at the top with the real `openstack` CLI through the gateway's Neutron API:
an external network with a zone hint (az2 = RegionThree) made in its pod at once, a top
router with net1 (az1 = RegionTwo) and its gateway on the external network, a floating IP
associated to a port living in RegionTwo -> a shadow port in RegionThree (the port's IP and
MAC) holding the floating IP there; disassociate, unset, delete: nothing left in any pod.

The API devcloud cannot boot a server: the port's realisation in RegionTwo is the gateway's
own boot step (`neutron.realise_port`), called in-process as test_gateway_neutron does.
The router jobs are run by a controller of the `net_router` kind (test_net_router.run).
"""

import contextlib
import json
import os
import random
import resource
import subprocess
import time

import pytest
import yaml

from multisite.devcloud import layout as L
from multisite.objects import jobs, routings
from multisite.reconcilers import net_north_south, net_router
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_neutron import nconf, realise  # noqa: F401
from tests.integration.test_net_router import lconf, run  # noqa: F401

pytestmark = pytest.mark.integration

PODS = ("RegionTwo", "RegionThree")


def cli(devcloud, gateway, *args, project=None):  # noqa: F811
    """`openstack ... -f json` in the top region, its network endpoint the gateway, as the
    admin or as `project`'s member; the parsed output (or None for a command without)."""
    clouds = yaml.safe_load(devcloud.clouds_yaml.read_text())
    cloud = dict(clouds["clouds"]["devcloud-admin"], region_name="RegionOne",
                 network_endpoint_override=gateway["url"] + "/network")
    cloud.pop("regions", None)
    if project is not None:
        cloud["auth"] = dict(cloud["auth"], username=project.username,
                             password=project.password, project_id=project.id)
        for key in ("project_name", "project_domain_name"):
            cloud["auth"].pop(key, None)
    name = "member" if project else "admin"
    path = gateway["log"].parent / f"clouds-{name}.yaml"
    path.write_text(yaml.safe_dump({"clouds": {name: cloud}}))
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(path), OS_CLOUD=name)
    for key in [k for k in env if k.startswith("OS_") and k not in (
            "OS_CLIENT_CONFIG_FILE", "OS_CLOUD")]:
        del env[key]
    openstack = L.Layout(devcloud.base).venv / "bin" / "openstack"
    out = subprocess.run([str(openstack), *args], env=env, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, f"openstack {' '.join(args)}: {out.stderr}" + \
        gateway["log"].read_text()[-2000:]
    return json.loads(out.stdout) if out.stdout.strip().startswith(("{", "[")) else None


def pod_state(devcloud, pod, project_id, router_id, names):
    """What a pod's own Neutron holds of this test: routers, networks, ports, FIPs."""
    admin = devcloud.admin_connection(pod).network
    return {"routers": [r.id for r in admin.routers(name=router_id)],
            "networks": [n.name for n in admin.networks(project_id=project_id)] +
            [n.name for n in admin.networks() if n.name in names],
            "ports": [p.name for p in admin.ports(project_id=project_id)],
            "floatingips": [f.floating_ip_address for f in admin.ips(project_id=project_id)]}


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_a_floating_ip_on_a_port_of_another_pod_is_held_by_a_shadow_port(
        devcloud, fresh_project, gateway, lconf):  # noqa: F811
    def place(port):
        return realise(lconf, devcloud, fresh_project, port["id"], "az1"), lambda: None
    scenario(devcloud, fresh_project, gateway, lconf, place)


def scenario(devcloud, fresh_project, gateway, lconf, place):  # noqa: F811
    """The whole story; `place(top port)` puts the port in RegionTwo: (its bottom port,
    a callable that undoes it before the port is deleted)."""
    def admin(*args):
        return cli(devcloud, gateway, *args)

    def member(*args):
        return cli(devcloud, gateway, *args, project=fresh_project)

    project = fresh_project.id
    segment = random.randrange(3000, 4000)
    ext = admin("network", "create", "--external", "--provider-network-type", "vlan",
                "--provider-physical-network", "physnet2", "--provider-segment",
                str(segment), "--availability-zone-hint", "az2", "h17n-ext", "-f", "json")
    router, fip, made = None, None, {}
    try:
        ext_sub = admin("subnet", "create", "--network", ext["id"], "--subnet-range",
                        "198.51.100.0/24", "--no-dhcp", "h17n-ext-sub", "-f", "json")
        # the external network and its subnet are in RegionThree at once, as at the top
        r3 = devcloud.admin_connection("RegionThree").network
        (bext,) = list(r3.networks(name=ext["id"]))
        assert bext.is_router_external and (bext.provider_network_type,
                                            bext.provider_physical_network,
                                            bext.provider_segmentation_id) == (
            "vlan", "physnet2", segment)
        (bext_sub,) = list(r3.subnets(name=ext_sub["id"]))
        assert bext_sub.cidr == "198.51.100.0/24" and bext_sub.network_id == bext.id
        assert list(devcloud.admin_connection("RegionTwo").network.networks(
            name=ext["id"])) == []

        made["net"] = member("network", "create", "--availability-zone-hint", "az1",
                             "h17n-net1", "-f", "json")
        made["sub"] = member("subnet", "create", "--network", made["net"]["id"],
                             "--subnet-range", "10.0.1.0/24", "h17n-sub1", "-f", "json")
        router = member("router", "create", "h17n-router", "-f", "json")
        member("router", "add", "subnet", router["id"], made["sub"]["id"])
        member("router", "set", "--external-gateway", ext["id"], router["id"])
        top_router = member("router", "show", router["id"], "-f", "json")
        gw_ip = top_router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
        made["port"] = member("port", "create", "--network", made["net"]["id"], "h17n-p1",
                              "-f", "json")
        in_pod, unplace = place(made["port"])
        # router_setup of the interface, configure_route of the gateway: one run
        status, writes = run(lconf, router["id"])
        assert status == "DONE", jobs.list_jobs(lconf, project_id=project)
        # RegionTwo: the east-west sequence (8) less the tenant network copy the port's
        # realisation made (net, subnet); RegionThree: bridge net+subnet, router, gateway
        # on the external network, the bridge as an interface (port + interface), routes
        assert writes == {"RegionTwo": 6, "RegionThree": 7}, writes
        (b3,) = list(r3.routers(name=router["id"]))
        info = b3.external_gateway_info
        assert info["network_id"] == bext.id and info["enable_snat"] is True
        assert info["external_fixed_ips"] == [{"subnet_id": bext_sub.id,
                                               "ip_address": gw_ip}]
        (bridge3,) = [p for p in r3.ports(device_id=b3.id,
                                          device_owner="network:router_interface")]
        bridge_ip3 = bridge3.fixed_ips[0]["ip_address"]
        r2 = devcloud.admin_connection("RegionTwo").network
        (b2,) = list(r2.routers(name=router["id"]))
        assert b2.routes == [{"destination": "0.0.0.0/0", "nexthop": bridge_ip3}]
        assert b3.routes == [{"destination": "10.0.1.0/24",
                              "nexthop": b2.external_gateway_info["external_fixed_ips"][0][
                                  "ip_address"]}]

        fip = member("floating", "ip", "create", ext["id"], "-f", "json")
        assert [j for j in jobs.list_jobs(lconf, project_id=project, status="NEW")[0]
                if j["resource"].get("router_id") == router["id"]] == []   # no router yet
        t0, c0 = time.monotonic(), cpu()
        member("floating", "ip", "set", "--port", made["port"]["id"], fip["id"])
        associated_top = time.monotonic()
        status, writes = run(lconf, router["id"])
        assert status == "DONE"
        (bfip,) = list(r3.ips(floating_ip_address=fip["floating_ip_address"]))
        took, cpu_s = time.monotonic() - associated_top, cpu() - c0
        print(f"\nnet17 north-south: floating IP associated at the top -> in RegionThree "
              f"{took:.2f} s (CLI set {associated_top - t0:.2f} s; test process CPU "
              f"{cpu_s:.2f} s; load {os.getloadavg()[0]:.1f}); writes {writes}")
        # shadow network, subnet, its interface, the shadow port, the floating IP
        assert writes == {"RegionThree": 5}, writes
        shadow = r3.get_port(bfip.port_id)
        port = made["port"]
        assert shadow.device_owner == net_north_south.SHADOW_OWNER
        assert shadow.mac_address == port["mac_address"]
        assert [ip["ip_address"] for ip in shadow.fixed_ips] == [
            port["fixed_ips"][0]["ip_address"]]
        assert bfip.fixed_ip_address == port["fixed_ips"][0]["ip_address"]
        assert bfip.router_id == b3.id and bfip.project_id == project
        assert r2.get_port(in_pod).mac_address == port["mac_address"]
        assert list(r2.ips(project_id=project)) == []      # only the external pod has it
        # a redo writes nothing
        jobs.create(lconf, project_id=project, job_type="configure_route",
                    resource={"router_id": router["id"]})
        assert run(lconf, router["id"]) == ("DONE", {})

        # disassociated: the bottom floating IP, the shadow port and its network go
        member("floating", "ip", "unset", "--port", fip["id"])
        status, writes = run(lconf, router["id"])
        assert status == "DONE" and writes == {"RegionThree": 4}, writes
        assert list(r3.ips(project_id=project)) == []
        assert [p.name for p in r3.ports(project_id=project)
                if p.device_owner == net_north_south.SHADOW_OWNER] == []
        assert [n.name for n in r3.networks(project_id=project)
                if n.name.startswith("shadow-")] == []
        member("floating", "ip", "delete", fip["id"])
        fip = None

        # gateway unset, interface removed, router deleted: the pods' routers go
        member("router", "unset", "--external-gateway", router["id"])
        member("router", "remove", "subnet", router["id"], made["sub"]["id"])
        member("router", "delete", router["id"])
        status, writes = run(lconf, router["id"])
        assert status == "DONE"
        unplace()
        member("port", "delete", made["port"]["id"])
        member("network", "delete", made["net"]["id"])
        admin("network", "delete", ext["id"])
        for pod in PODS:
            left = pod_state(devcloud, pod, project, router["id"], {ext["id"]})
            assert left == {"routers": [], "networks": [], "ports": [],
                            "floatingips": []}, (pod, left)
        assert routings.find(lconf, top_id=router["id"], resource_type="router") == []
        router = made = ext = None
    finally:
        cleanup(devcloud, gateway, lconf, project, router, fip, made, ext)


def cleanup(devcloud, gateway, conf, project, router, fip, made, ext):  # noqa: F811
    """After a failure: everything of the test, at the top and in the pods."""
    def quiet(*args, **kw):
        with contextlib.suppress(Exception, AssertionError):
            cli(devcloud, gateway, *args, **kw)
    for pod in PODS:
        admin = devcloud.admin_connection(pod).network
        for found in admin.ips(project_id=project):
            admin.delete_ip(found, ignore_missing=True)
    if fip:
        quiet("floating", "ip", "delete", fip["id"])
    if router:
        quiet("router", "unset", "--external-gateway", router["id"])
        if made and made.get("sub"):
            quiet("router", "remove", "subnet", router["id"], made["sub"]["id"])
        quiet("router", "delete", router["id"])
        with contextlib.suppress(Exception):
            net_router.converge(conf, net_router.router_network.RouterNetwork(conf),
                                router["id"], project)
    for pod in PODS:
        admin = devcloud.admin_connection(pod).network
        for port in admin.ports(project_id=project):
            with contextlib.suppress(Exception):
                admin.delete_port(port, ignore_missing=True)
        for net in [*admin.networks(project_id=project),
                    *(admin.networks(name=ext["id"]) if ext else [])]:
            with contextlib.suppress(Exception):
                admin.delete_network(net, ignore_missing=True)
    if made and made.get("port"):
        quiet("port", "delete", made["port"]["id"])
    if made and made.get("net"):
        quiet("network", "delete", made["net"]["id"])
    if ext:
        quiet("network", "delete", ext["id"])
