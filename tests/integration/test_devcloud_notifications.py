"""Every devcloud region's services publish notifications on the region's own RabbitMQ vhost."""

from __future__ import annotations

import os

import pytest

from tests.integration.notifications import Listener

pytestmark = pytest.mark.integration


@pytest.fixture
def regions(devcloud):
    if not devcloud.vhosts:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("the devcloud records no RabbitMQ vhosts")
        pytest.skip(f"the devcloud in {devcloud.base} was started by code without "
                    "notifications; restart it (multisite-devcloud down && up) to run this")
    return devcloud.regions[:2]


def test_each_region_publishes_on_its_own_vhost(devcloud, regions, fresh_project, usage):
    listeners = {r: Listener(devcloud.transport_url(r)) for r in regions}
    recorders = {r: listener.__enter__() for r, listener in listeners.items()}
    try:
        made = {}
        for region in regions:
            made[region] = (usage.network(region), usage.keypair(region), usage.image(region))
        for region, (net, keypair, image) in made.items():
            rec = recorders[region]
            payload = rec.wait_for("network.create.end",
                                   lambda p, net=net: p["network"]["id"] == net.id)
            assert payload["network"]["project_id"] == fresh_project.id
            payload = rec.wait_for("keypair.import.end",
                                   lambda p, kp=keypair: p["key_name"] == kp.name)
            assert payload["tenant_id"] == fresh_project.id
            payload = rec.wait_for("image.create", lambda p, im=image: p["id"] == im.id)
            assert payload["owner"] == fresh_project.id
        # ... and nothing of one region shows on another region's vhost
        for region, (net, _, _) in made.items():
            for other in regions:
                if other != region:
                    assert not recorders[other].matching(
                        "network.create.end", lambda p, net=net: p["network"]["id"] == net.id)
        # keystone publishes on RegionOne's bus
        project = devcloud.create_project()
        try:
            recorders[regions[0]].wait_for(
                "identity.project.created", lambda p: p.get("resource_info") == project.id)
        finally:
            devcloud.delete_project(project)
    finally:
        for listener in listeners.values():
            listener.__exit__(None, None, None)
