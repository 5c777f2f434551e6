"""Address index and conflicts against the devcloud, resources made with the real `openstack`.

Project A gets, in RegionOne and RegionTwo: a network with 10.0.0.0/24 and an IPv6 /64,
a port with the same IPv4 and IPv6 fixed addresses, a port with one explicit MAC, and a
floating IP with the same address on the external network. Project B gets 10.0.0.0/24
in RegionOne only. The audit must find exactly A's six conflicts, none with B (another
domain) unless the operator puts A and B in one domain; deleting RegionTwo's port
clears its two IP conflicts.
"""

import concurrent.futures
import contextlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from multisite import clients
from multisite.devcloud import layout as L
from multisite.engine import address_audit
from multisite.objects import address_conflicts
from multisite.objects import addresses as index
from tests.integration.usage import unique

pytestmark = pytest.mark.integration

R1, R2 = "RegionOne", "RegionTwo"
OPENSTACK = Path(sys.executable).parent / "openstack"
CACHE = {"auth_uri": L.Layout(L.default_base()).keystone_url, "admin_username": "admin",
         "admin_password": "adminpw", "admin_tenant": "admin", "region_timeout": 10.0}


@pytest.fixture
def aconf(db, devcloud):
    for name, value in CACHE.items():
        db.set_override(name, value, group="cache")
    # the devcloud in use (MULTISITE_DEVCLOUD_PORT_OFFSET shifts its Keystone)
    db.set_override("auth_uri", devcloud.keystone_url, group="cache")
    yield db
    for name in CACHE:
        db.clear_override(name, group="cache")
    db.clear_override("routable_domain", group="addresses")


def osc(devcloud, region, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(devcloud.clouds_yaml), OS_CLOUD="devcloud-admin",
               OS_REGION_NAME=region)
    fmt = () if args[-2:-1] == ("delete",) else ("-f", "json")
    proc = subprocess.run([str(OPENSTACK), *args, *fmt], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"openstack {' '.join(args)}: {proc.stderr[-800:]}"
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def build_region(devcloud, region, *, a, b, mac, fip):
    made = []
    net = osc(devcloud, region, "network", "create", "--project", a, unique("addr"))
    made.append(("network", net["id"]))
    v4 = osc(devcloud, region, "subnet", "create", "--project", a, "--network", net["id"],
             "--subnet-range", "10.0.0.0/24", unique("v4"))
    v6 = osc(devcloud, region, "subnet", "create", "--project", a, "--network", net["id"],
             "--ip-version", "6", "--subnet-range", "2001:db8:77::/64", unique("v6"))
    same = osc(devcloud, region, "port", "create", "--project", a, "--network", net["id"],
               "--fixed-ip", f"subnet={v4['id']},ip-address=10.0.0.50",
               "--fixed-ip", f"subnet={v6['id']},ip-address=2001:db8:77:0::50", unique("p"))
    made.insert(0, ("port", same["id"]))
    last = "60" if region == R1 else "61"
    mac_port = osc(devcloud, region, "port", "create", "--project", a, "--network", net["id"],
                   "--mac-address", mac, "--fixed-ip",
                   f"subnet={v4['id']},ip-address=10.0.0.{last}", unique("mac"))
    made.insert(0, ("port", mac_port["id"]))
    ext = devcloud.external_network(region)
    floating = osc(devcloud, region, "floating", "ip", "create", "--project", a,
                   "--floating-ip-address", fip, ext.id)
    made.insert(0, ("floating ip", floating["id"]))
    if region == R1:
        bnet = osc(devcloud, region, "network", "create", "--project", b, unique("addr-b"))
        made.append(("network", bnet["id"]))
        osc(devcloud, region, "subnet", "create", "--project", b, "--network", bnet["id"],
            "--subnet-range", "10.0.0.0/24", unique("v4b"))
    return {"same_port": same["id"], "made": made}


def cleanup(devcloud, region, made):
    conn = devcloud.admin_connection(region)
    for kind, obj_id in made:
        with contextlib.suppress(Exception):
            if kind == "port":
                conn.network.delete_port(obj_id, ignore_missing=True)
            elif kind == "floating ip":
                conn.network.delete_ip(obj_id, ignore_missing=True)
            else:
                for sub in conn.network.subnets(network_id=obj_id):
                    conn.network.delete_subnet(sub, ignore_missing=True)
                conn.network.delete_network(obj_id, ignore_missing=True)


def mine(conflicts, projects, fip):
    return {(c["kind"], c["address"], tuple(c["regions"])): c for c in conflicts
            if set(c["project_ids"]) & projects or c["address"] == fip}


def test_conflicts_found_with_both_sides_and_cleared(aconf, devcloud):
    a, b = devcloud.create_project(), devcloud.create_project()
    mac = "fa:16:3e:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))
    fip = f"172.24.4.{random.randrange(100, 250)}"
    built = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = {r: pool.submit(build_region, devcloud, r, a=a.id, b=b.id, mac=mac,
                                      fip=fip) for r in (R1, R2)}
            for region, future in futures.items():
                with contextlib.suppress(Exception):
                    built[region] = future.result()
            for future in futures.values():
                future.result()    # re-raise a creation failure after recording the rest
        auditor = address_audit.AddressAuditor(aconf, clients.Cloud(aconf))
        result = auditor.run()
        assert {R1, R2} <= set(result.regions_ok), result.regions_failed
        found = mine(address_conflicts.search(aconf, limit=1000), {a.id, b.id}, fip)
        domain = f"project:{a.id}"
        assert set(found) == {
            ("cidr", "10.0.0.0/24", (R1, R2)), ("cidr", "2001:db8:77::/64", (R1, R2)),
            ("ip", "10.0.0.50", (R1, R2)), ("ip", "2001:db8:77::50", (R1, R2)),
            ("mac", mac, (R1, R2)), ("public_ip", fip, (R1, R2))}
        for (kind, _address, _regions), conflict in found.items():
            assert conflict["domain"] == ("public" if kind == "public_ip" else domain)
            assert {s["project_id"] for s in conflict["sides"]} == {a.id}
        ip = found[("ip", "10.0.0.50", (R1, R2))]
        assert sorted((s["region"], s["port_id"]) for s in ip["sides"]) == [
            (R1, built[R1]["same_port"]), (R2, built[R2]["same_port"])]
        assert all(s["network_id"] and s["subnet_id"] for s in ip["sides"])
        hits = index.search(aconf, ip="10.0.0.50", project_id=a.id)
        assert {(e["kind"], e["region"]) for e in hits} >= {("fixed_ip", R1), ("fixed_ip", R2)}

        # deleting one side clears the two IP conflicts of that port
        osc(devcloud, R2, "port", "delete", built[R2]["same_port"])
        result = auditor.run()
        cleared = {c["address"] for c in result.cleared if a.id in c["project_ids"]}
        assert cleared == {"10.0.0.50", "2001:db8:77::50"}
        found = mine(address_conflicts.search(aconf, limit=1000), {a.id, b.id}, fip)
        assert {k[0] for k in found} == {"cidr", "mac", "public_ip"}

        # the operator puts A's and B's networks in one domain: B's subnet now overlaps
        aconf.set_override("routable_domain", [f"vpn:project={a.id}", f"vpn:project={b.id}"],
                           group="addresses")
        address_audit.AddressAuditor(aconf, clients.Cloud(aconf)).run()
        found = mine(address_conflicts.search(aconf, limit=1000), {a.id, b.id}, fip)
        v4 = found[("cidr", "10.0.0.0/24", (R1, R2))]
        assert v4["domain"] == "operator:vpn"
        assert sorted(s["project_id"] for s in v4["sides"]) == sorted([a.id, a.id, b.id])
    finally:
        for region, done in built.items():
            cleanup(devcloud, region, done["made"])
        devcloud.delete_project(a)
        devcloud.delete_project(b)
