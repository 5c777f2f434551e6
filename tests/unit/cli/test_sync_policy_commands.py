"""multisite sync policy create|list|show|audit|delete against the in-process API and engine,
regions in memory."""

import pytest

from multisite.clients import network
from tests.unit.reconcilers.fake_network import FakeNeutron
from tests.unit.reconcilers.fake_regions import FakeCloud


@pytest.fixture
def cloud(monkeypatch):
    cloud = FakeCloud().install(monkeypatch)
    neutron = FakeNeutron()
    monkeypatch.setattr(network, "for_region", lambda conf, region: neutron.client(region))
    cloud.neutron = neutron
    return cloud


def test_keypair_policy_without_a_user_is_a_400(cli, cloud):
    code, out, err = cli("sync", "policy", "create", "--resource-type", "keypair",
                         "--source", "RegionOne")
    assert code == 1 and "needs a user" in err and "HTTP 400" in err


def test_policy_commands(cli, cloud, project_id):
    neutron = cloud.neutron
    web = neutron.add_group("RegionOne", project_id, "web")
    neutron.add_rule("RegionOne", web["id"], direction="ingress", ethertype="IPv4",
                     protocol="tcp", port_range_min=22, port_range_max=22)
    code, out, err = cli("sync", "policy", "create", "--resource-type", "security_group",
                         "--resource", "web", "--source", "RegionOne", "--target", "RegionTwo",
                         "--on-drift", "enforce", "-f", "value", "-c", "ID")
    assert code == 0, err
    policy_id = out.strip()
    code, out, err = cli("sync", "policy", "list", "-f", "value")
    assert code == 0 and f"{policy_id} security_group web RegionOne RegionTwo enforce" in out
    code, out, err = cli("sync", "policy", "audit", policy_id, "-f", "value", "-c", "TARGET",
                         "-c", "STATE")
    assert code == 0, err
    assert out.strip() == "RegionTwo in_sync"
    copy = neutron.named("RegionTwo", "web")
    assert [r["port_range_min"] for r in copy["rules"]].count(22) == 1
    neutron.client("RegionTwo").delete_rule(
        next(r["id"] for r in copy["rules"] if r["port_range_min"] == 22))
    code, out, err = cli("sync", "policy", "show", policy_id, "-f", "value", "-c", "STATE")
    assert out.strip() == "in_sync"            # show is the last audit, not a new one
    code, out, err = cli("sync", "policy", "delete", policy_id)
    assert code == 0 and f"Sync policy {policy_id} deleted." in out
    code, out, err = cli("sync", "policy", "show", policy_id)
    assert code == 1 and "sync_policy.not_found" in err
