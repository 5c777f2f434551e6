"""The boot check of an image rollout against the FULL devcloud (nova-compute with the
FakeDriver: servers reach ACTIVE), docs/images.md: a server boots from each wave's copy
with the region's flavor and network, is deleted, and the wave switches; a server Nova
refuses fails the wave and rolls the rollout back.

Needs MULTISITE_DEVCLOUD_FULL=1 (or CI=true): see the devcloud_full fixture."""

import contextlib
import os

import pytest

from multisite.devcloud import full_setup
from tests.integration.test_images import FAST, V2, _all_images, _named, _upload
from tests.integration.usage import create_network, create_subnet, unique, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"


@pytest.fixture
def full_stack(devcloud_full, conf, request):
    for name, value in (("auth_uri", devcloud_full.auth_url), ("admin_username", "admin"),
                        ("admin_password", "adminpw"), ("admin_tenant", "admin")):
        conf.set_override(name, value, group="cache")
    for name, value in FAST:
        conf.set_override(name, value, group="image_distribution")
    yield request.getfixturevalue("wsgi_app")
    for name, _ in FAST:
        conf.clear_override(name, group="image_distribution")


@pytest.fixture
def full_project(devcloud_full):
    project = devcloud_full.create_project()
    yield project
    for region in (R1, R2, R3):
        conn = devcloud_full.admin_connection(region)
        for image in _all_images(devcloud_full, project.id, region):
            with contextlib.suppress(Exception):
                conn.image.delete_image(image, ignore_missing=True)
    devcloud_full.delete_project(project)


@pytest.fixture
def networks(devcloud_full):
    """A network per target region, the service user's (it boots the check's server)."""
    made = {r: create_network(devcloud_full.admin_connection(r), unique("bootcheck"))
            for r in (R2, R3)}
    for region, net in made.items():
        create_subnet(devcloud_full.admin_connection(region), net, cidr="10.61.0.0/24")
    yield {r: n.id for r, n in made.items()}
    for region, net in made.items():
        admin = devcloud_full.admin_connection(region)
        with contextlib.suppress(Exception):
            for subnet in admin.network.subnets(network_id=net.id):
                admin.network.delete_subnet(subnet)
            admin.network.delete_network(net)


def _servers(devcloud_full, rollout_id, region):
    conn = devcloud_full.admin_connection(region)
    return [s for s in conn.compute.servers(all_projects=True)
            if s.name.startswith(f"multisite-boot-check-{rollout_id}")]


def test_rollout_boot_check_on_the_full_devcloud(full_stack, full_project, networks,
                                                 devcloud_full):
    api = V2(full_stack, full_project)
    conn = {r: full_project.connect(r) for r in (R1, R2, R3)}
    name = unique("golden")
    old = {r: _upload(conn[r], name, os.urandom(256 * 1024)).id for r in (R2, R3)}
    new = _upload(conn[R1], name, os.urandom(512 * 1024))
    checks = {r: {"flavor": full_setup.FLAVOR, "network": networks[r], "timeout": 240}
              for r in (R2, R3)}
    rollout_id = api.rollout(new.id, boot_check=checks)
    done = api.wait_rollout(rollout_id, timeout=600)
    assert done["state"] == "succeeded", done
    for wave in done["waves"]:
        assert wave["regions"][0]["boot"]["state"] == "passed", wave
    for region in (R2, R3):
        assert _named(conn[region], name) == [new.id], region
        wait_for(lambda r=region: _servers(devcloud_full, rollout_id, r) == [], timeout=60,
                 what=f"the boot-check server deleted in {region}")   # (Nova: async)
    # a server Nova refuses (the image needs more RAM than the flavor has): wave 1 fails,
    # the rollout rolls back, RegionThree is never touched
    newer = _upload(conn[R1], name, os.urandom(512 * 1024), min_ram=64 * 1024)
    rollout_id = api.rollout(newer.id, boot_check=checks)
    done = api.wait_rollout(rollout_id, timeout=600)
    assert done["state"] == "rolled_back", done
    assert "wave 1 failed: RegionTwo: boot check" in done["reason"], done
    assert _named(conn[R2], name) == [new.id]
    assert _named(conn[R3], name) == [new.id]
    assert newer.id not in {i.id for i in _all_images(devcloud_full, full_project.id, R3)}
    wait_for(lambda: _servers(devcloud_full, rollout_id, R2) == [], timeout=60,
             what="no boot-check server left")
    for region in (R2, R3):               # the versions before the first rollout: hidden
        assert conn[region].image.get_image(old[region]).is_hidden is True
