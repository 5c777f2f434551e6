"""GET /v2/inventory against the devcloud: API -> engine (RPC) -> every region in parallel.

Resources made in two regions appear with their regions; with RegionThree's APIs killed
the answer still comes, names RegionThree in unreachable_regions, and takes no longer
than [inventory] region_timeout (plus the call's own overhead).
"""

import json
import time

import pytest
import webob

from multisite.devcloud import layout as L
from tests.integration.usage import create_keypair, create_network, create_volume, region_down

pytestmark = pytest.mark.integration

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
TIMEOUT = 4.0
CACHE = {"auth_uri": L.Layout(L.default_base()).keystone_url, "admin_username": "admin",
         "admin_password": "adminpw", "admin_tenant": "admin", "region_timeout": 10.0}


@pytest.fixture
def iconf(db, devcloud):
    for name, value in CACHE.items():
        db.set_override(name, value, group="cache")
    db.set_override("region_timeout", TIMEOUT, group="inventory")
    db.set_override("cache_ttl", 30.0, group="inventory")
    yield db
    for name in CACHE:
        db.clear_override(name, group="cache")
    db.clear_override("region_timeout", group="inventory")
    db.clear_override("cache_ttl", group="inventory")


def get(app, url, project):
    req = webob.Request.blank(url, headers={"X-Project-Id": project.id,
                                            "X-User-Id": project.user_id,
                                            "X-Roles": "member"})
    started = time.monotonic()
    resp = req.get_response(app)
    return resp.status_int, json.loads(resp.body), time.monotonic() - started


def test_inventory_across_regions_and_with_one_down(iconf, engine, wsgi_app, devcloud,
                                                    fresh_project):
    conn1, conn2 = fresh_project.connect(R1), fresh_project.connect(R2)
    made = []
    try:
        net = create_network(conn1)
        made.append((conn1.network.delete_network, net))
        vol = create_volume(conn2)
        made.append((conn2.block_storage.delete_volume, vol))
        key = create_keypair(conn2)
        made.append((conn2.compute.delete_keypair, key))

        status, body, _ = get(wsgi_app, "/v2/inventory", fresh_project)
        assert status == 200, body
        found = {(i["type"], i["region"], i["id"]) for i in body["inventory"]}
        assert {("networks", R1, net.id), ("volumes", R2, vol.id),
                ("keypairs", R2, key.name)} <= found
        assert not any(i["id"] == net.id and i["region"] != R1 for i in body["inventory"])
        assert body["unreachable_regions"] == [] and set(body["regions"]) >= {R1, R2, R3}
        volume = next(i for i in body["inventory"] if i["id"] == vol.id)
        assert volume["size"] == 1 and volume["attached_to"] == []

        status, cached, _ = get(wsgi_app, "/v2/inventory/summary?region=" + R2, fresh_project)
        assert status == 200 and cached["age"] > 0
        assert cached["summary"]["volumes"] == {"regions": {R2: 1}, "total": 1}
        assert cached["summary"]["keypairs"] == {"regions": {R2: 1}, "total": 1}

        with region_down(R3):
            status, body, took = get(wsgi_app, "/v2/inventory?refresh=true", fresh_project)
        assert status == 200, body
        assert [u["region"] for u in body["unreachable_regions"]] == [R3]
        assert ("networks", R1, net.id) in {(i["type"], i["region"], i["id"])
                                            for i in body["inventory"]}
        assert not any(i["region"] == R3 for i in body["inventory"])
        # the answer never waits for the dead region beyond the inventory timeout
        assert took < TIMEOUT + 3.0, took
    finally:
        for delete, obj in reversed(made):
            try:
                delete(obj)
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass
