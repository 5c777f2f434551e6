"""Smoke tests: each devcloud service answers the calls Multisite relies on, in every region."""

from __future__ import annotations

import pytest

from multisite.devcloud import layout as L
from tests.integration.usage import md5

pytestmark = pytest.mark.integration


def test_keystone_token_and_catalog(devcloud):
    assert len(devcloud.regions) >= 1
    sess = devcloud.session()
    assert sess.get_token()
    catalog = sess.auth.get_access(sess).service_catalog.catalog
    by_type: dict[str, dict[tuple[str, str], str]] = {}
    for service in catalog:
        for ep in service["endpoints"]:
            by_type.setdefault(service["type"], {})[(ep["region_id"], ep["interface"])] = ep["url"]
    for region in devcloud.regions:
        for interface in ("public", "internal", "admin"):
            assert by_type["synchronization"][(region, interface)] == devcloud.multisite_url
            assert by_type["identity"][(region, interface)].rstrip("/") == devcloud.keystone_url
            for stype in ("compute", "volumev3", "network", "image"):
                assert (region, interface) in by_type[stype], (stype, region, interface)
    sync = [s for s in catalog if s["type"] == "synchronization"]
    assert [s["name"] for s in sync] == ["multisite"]


def test_demo_user_token(devcloud):
    assert devcloud.token(devcloud.demo)


def test_nova_quota_set_and_keypair(devcloud, fresh_project, usage):
    pid = fresh_project.id
    for i, region in enumerate(devcloud.regions):
        nova = devcloud.admin_connection(region).compute
        before = nova.get(f"/os-quota-sets/{pid}").json()["quota_set"]
        assert before["cores"] == 20
        body = {"quota_set": {"cores": 11 + i, "key_pairs": 50 + i}}
        resp = nova.put(f"/os-quota-sets/{pid}", json=body)
        assert resp.status_code == 200, resp.text
        usage.keypair(region)
    # regions are independent: each kept its own value
    for i, region in enumerate(devcloud.regions):
        nova = devcloud.admin_connection(region).compute
        quota = nova.get(f"/os-quota-sets/{pid}").json()["quota_set"]
        assert (quota["cores"], quota["key_pairs"]) == (11 + i, 50 + i)
        names = [kp.name for kp in usage.conn(region).compute.keypairs()]
        assert len(names) == 1


def test_cinder_quota_usage_counts_volume(devcloud, fresh_project, usage):
    region = devcloud.regions[-1]
    cinder = devcloud.admin_connection(region).block_storage
    path = f"/os-quota-sets/{fresh_project.id}?usage=True"
    assert cinder.get(path).json()["quota_set"]["volumes"]["in_use"] == 0
    usage.volume(region, size=2)
    quota = cinder.get(path).json()["quota_set"]
    assert quota["volumes"]["in_use"] == 1
    assert quota["gigabytes"]["in_use"] == 2
    other = devcloud.admin_connection(devcloud.regions[0]).block_storage
    if len(devcloud.regions) > 1:
        assert other.get(path).json()["quota_set"]["volumes"]["in_use"] == 0


def test_neutron_quota_details_count_usage(devcloud, fresh_project, usage):
    region = devcloud.regions[0]
    neutron = devcloud.admin_connection(region).network
    path = f"/quotas/{fresh_project.id}/details"
    assert neutron.get(path).json()["quota"]["network"]["used"] == 0
    net = usage.network(region)
    subnet = usage.subnet(region, net)
    usage.port(region, net)
    usage.router(region, subnet=subnet)
    usage.floating_ip(region)
    usage.security_group(region)
    quota = neutron.get(path).json()["quota"]
    assert quota["network"]["used"] == 1
    assert quota["subnet"]["used"] == 1
    assert quota["port"]["used"] >= 2  # ours + the router interface
    assert quota["router"]["used"] == 1
    assert quota["floatingip"]["used"] == 1
    assert quota["security_group"]["used"] >= 2  # ours + "default"


def test_glance_image_upload_download(devcloud, fresh_project, usage):
    region = devcloud.regions[-1]
    data = b"multisite devcloud " * 4096
    image = usage.image(region, data)
    conn = usage.conn(region)
    image = conn.image.get_image(image.id)
    assert image.status == "active"
    assert image.disk_format == "raw"
    resp = conn.image.download_image(image)
    assert md5(resp.content) == md5(data)
    assert L.region_index(region) >= 1
