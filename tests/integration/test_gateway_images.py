"""The gateway's lazy image hook against the devcloud's real Glance, Nova and Cinder (issue
15, docs/images.md "lazy"): a server or volume create through a `multisite-gateway`
process, naming an image of the top region (RegionOne) that the pod lacks, has the image
copied to that pod first (by an engine running in this process, the real image_copy
kind), then reaches the pod.

On the API-only devcloud servers stay in BUILD and a volume from an image stays
`creating` (no compute, no cinder-volume): what is asserted is that the copy is in the
pod's Glance (same id, same checksum) before the create reached the pod, that the pod holds
the server or volume made from that image id, and that the other pod got no copy.
"""

import contextlib
import os
import uuid

import openstack
import pytest

from multisite.objects import images as image_rows
from multisite.objects import routings
from tests.integration.test_gateway import run_gateway
from tests.integration.test_images import (
    _all_images,
    _upload,
    cleanup_images,
    stack,  # noqa: F401 - the fixture
)
from tests.integration.usage import unique, wait_for

pytestmark = pytest.mark.integration
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
MIB = 1024 * 1024


@pytest.fixture
def flavor(devcloud):
    """One flavor with the same id in both pods (what the flavor sync keeps)."""
    flavor_id = str(uuid.uuid4())
    for region in (R2, R3):
        devcloud.admin_connection(region).compute.create_flavor(
            name=f"gwi-{flavor_id[:8]}", ram=64, vcpus=1, disk=1, id=flavor_id)
    yield flavor_id
    for region in (R2, R3):
        with contextlib.suppress(Exception):
            devcloud.admin_connection(region).compute.delete_flavor(flavor_id)


def _copies(devcloud, project, region, name):
    return [i for i in _all_images(devcloud, project.id, region) if i.name == name]


def test_a_create_through_the_gateway_copies_the_missing_image_first(
        stack, devcloud, conf, tmp_path, fresh_project, flavor):  # noqa: F811
    name = unique("gw-lazy")
    made = []
    with cleanup_images(devcloud, fresh_project), \
            run_gateway(devcloud, conf, tmp_path) as gateway:
        source = _upload(fresh_project.connect(R1), name, os.urandom(4 * MIB))
        assert not _copies(devcloud, fresh_project, R2, name)
        sdk = openstack.connection.Connection(
            session=devcloud.session(fresh_project.credentials), region_name=R1,
            identity_api_version="3", compute_endpoint_override=gateway["compute"],
            block_storage_endpoint_override=f"{gateway['volume']}/{fresh_project.id}")
        try:
            # a server in az1 (RegionTwo): the copy is made, then the create reaches the pod
            answer = sdk.compute.post("/servers", json={"server": {
                "name": name, "imageRef": source.id, "flavorRef": flavor,
                "availability_zone": "az1", "networks": "none"}},
                headers={"OpenStack-API-Version": "compute 2.37"})
            assert answer.status_code == 202, answer.text + gateway["log"].read_text()[-3000:]
            server_id = answer.json()["server"]["id"]
            made.append((R2, "server", server_id))
            (copy,) = _copies(devcloud, fresh_project, R2, name)
            assert (copy.id, copy.checksum, copy.status) == (source.id, source.checksum,
                                                             "active")
            row = image_rows.find_copy(conf, source.id, R2)
            assert (row["state"], row["origin"], row["project_id"]) == (
                "active", "lazy", fresh_project.id)
            pod = devcloud.admin_connection(R2).compute.get(f"/servers/{server_id}")
            assert pod.status_code == 200, pod.text
            assert pod.json()["server"]["image"]["id"] == source.id
            assert not _copies(devcloud, fresh_project, R3, name)   # az2 was not asked
            # a second boot in az1 finds the image there: no second copy, same row
            answer = sdk.compute.post("/servers", json={"server": {
                "name": name + "-2", "imageRef": source.id, "flavorRef": flavor,
                "availability_zone": "az1", "networks": "none"}},
                headers={"OpenStack-API-Version": "compute 2.37"})
            assert answer.status_code == 202, answer.text
            made.append((R2, "server", answer.json()["server"]["id"]))
            assert image_rows.find_copy(conf, source.id, R2)["id"] == row["id"]
            assert len(_copies(devcloud, fresh_project, R2, name)) == 1
            # a volume from the image in az2 (RegionThree): copied there too
            answer = sdk.block_storage.post("/volumes", json={"volume": {
                "name": name, "size": 1, "imageRef": source.id,
                "availability_zone": "az2"}})
            assert answer.status_code == 202, answer.text + gateway["log"].read_text()[-3000:]
            volume_id = answer.json()["volume"]["id"]
            made.append((R3, "volume", volume_id))
            (copy,) = _copies(devcloud, fresh_project, R3, name)
            assert (copy.id, copy.checksum, copy.status) == (source.id, source.checksum,
                                                             "active")
            pod = devcloud.admin_connection(R3).block_storage.get(f"/volumes/{volume_id}")
            assert pod.status_code == 200, pod.text
            (routing,) = routings.find(conf, top_id=volume_id, resource_type="volume")
            assert routing["bottom_id"] == volume_id
        finally:
            _clean(devcloud, made)


def _clean(devcloud, made):
    for region, kind, item_id in made:
        conn = devcloud.admin_connection(region)
        with contextlib.suppress(Exception):
            if kind == "server":
                conn.compute.delete(f"/servers/{item_id}")
                wait_for(lambda c=conn, s=item_id: c.compute.get(
                    f"/servers/{s}").status_code == 404, timeout=60,
                    what=f"server {item_id} gone")
            else:   # stays `creating` on the API profile: reset, then delete
                conn.block_storage.post(f"/volumes/{item_id}/action",
                                        json={"os-reset_status": {"status": "error"}})
                conn.block_storage.delete(f"/volumes/{item_id}")
