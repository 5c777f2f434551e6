"""multisite-gateway's /network overhead on the devcloud: the same Neutron calls through
the gateway and straight to the top region's Neutron (RegionOne), in one run.

Uses bench.gateway's gateway (keystone auth, SQLite in a temporary directory, RegionOne
the top); makes one top network with a subnet and --ports ports, measures, deletes.

    python -m bench.gateway_network --rounds 50 --ports 20
"""

import argparse
import contextlib
import os
import tempfile
import uuid
from pathlib import Path

import openstack

from bench.gateway import pct, start_gateway, timings
from multisite.devcloud import layout as L


def checked(resp):
    assert resp.status_code < 300, (resp.status_code, resp.text[:300])
    return resp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--ports", type=int, default=20, help="ports on the network")
    args = parser.parse_args(argv)
    os.environ.setdefault("OS_CLIENT_CONFIG_FILE", str(L.default_base() / "clouds.yaml"))
    proc, compute = start_gateway(Path(tempfile.mkdtemp(prefix="bench-gwnet-")))
    direct = openstack.connect(cloud="devcloud-admin", region_name="RegionOne")
    via = openstack.connect(cloud="devcloud-admin", region_name="RegionOne",
                            network_endpoint_override=compute.removesuffix("/compute/v2.1")
                            + "/network")
    net = direct.network.create_network(name=f"bench-{uuid.uuid4().hex[:8]}")
    results = {}
    try:
        direct.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.250.0.0/22")
        for _ in range(args.ports):
            direct.network.create_port(network_id=net.id)
        calls = {
            "GET /networks/{id}": lambda c: checked(c.network.get(f"/networks/{net.id}")),
            f"GET /ports?network_id ({args.ports})":
                lambda c: checked(c.network.get(f"/ports?network_id={net.id}")),
            "POST+DELETE /ports": lambda c: checked(c.network.delete("/ports/" + checked(
                c.network.post("/ports", json={"port": {"network_id": net.id}})
            ).json()["port"]["id"])),
        }
        for conn in (via, direct):                                 # warm: tokens, pools
            checked(conn.network.get("/networks"))
        for name, fn in calls.items():
            # alternated in one sitting so both sides see the same machine load
            results[name] = {"direct": [], "gateway": []}
            for _ in range(args.rounds):
                results[name]["direct"] += timings(lambda f=fn: f(direct), 1)
                results[name]["gateway"] += timings(lambda f=fn: f(via), 1)
    finally:
        for port in direct.network.ports(network_id=net.id):
            with contextlib.suppress(Exception):
                direct.network.delete_port(port)
        direct.network.delete_network(net, ignore_missing=True)
        proc.terminate()
        proc.wait(timeout=30)
    print(f"rounds={args.rounds} ports={args.ports}")
    for name, sides in results.items():
        d50, d99 = pct(sides["direct"], 50), pct(sides["direct"], 99)
        g50, g99 = pct(sides["gateway"], 50), pct(sides["gateway"], 99)
        print(f"{name:28s} direct p50 {d50:7.1f} ms p99 {d99:7.1f} ms | gateway p50 "
              f"{g50:7.1f} ms p99 {g99:7.1f} ms | p50 ratio {g50 / d50:.2f} "
              f"(+{g50 - d50:.1f} ms)")


if __name__ == "__main__":
    main()
