"""devcloud layout: port offsets, names of vhosts/databases/processes, the Multisite config."""

from __future__ import annotations

import configparser
import json

from multisite.devcloud import layout as L
from multisite.devcloud import multisite_conf
from multisite.devcloud import services as S


def test_default_ports_and_names_are_unchanged(tmp_path):
    layout = L.Layout(tmp_path, 0)
    assert layout.keystone_url == L.KEYSTONE_URL == "http://127.0.0.1:5000/v3"
    assert [layout.port(k, 2) for k in ("nova", "cinder", "neutron", "glance")] == [
        18774, 18776, 19696, 19292]
    assert layout.vhost(1) == "devcloud-r1"
    assert layout.transport_url(3) == "rabbit://guest:guest@127.0.0.1:5672/devcloud-r3"
    assert layout.mysql_prefix == "devcloud_"
    assert S.Service("nova", 1, layout).title == "devcloud-r1-nova"


def test_offset_shifts_every_port_and_renames(tmp_path):
    layout = L.Layout(tmp_path, 100)
    assert layout.keystone_url == "http://127.0.0.1:5100/v3"
    assert layout.port("placement", 1) == 8878
    assert layout.port("neutron", 3) == 29796
    assert layout.port("keystone", 2) == 15100  # the second keystone
    assert layout.vhost(2) == "devcloud100-r2"
    assert layout.mysql_prefix == "devcloud100_"
    assert S.Service("keystone", 0, layout).title == "devcloud100-keystone"
    assert S.Service("keystone", 0, layout).mysql_name("keystone") == "devcloud100_keystone"


def test_offset_comes_from_state_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(L.PORT_OFFSET_ENV, "200")
    assert L.Layout(tmp_path).port_offset == 200
    (tmp_path / "state.json").write_text(json.dumps({"port_offset": 300}))
    assert L.Layout(tmp_path).port_offset == 300  # what the devcloud was started with


def test_full_profile_services(tmp_path):
    layout = L.Layout(tmp_path, 100)
    names = [s.name for s in S.all_services(layout, 2, "mysql", profile="full", keystones=2)]
    assert names[:2] == ["keystone", "keystone2"]
    for kind in ("nova", "placement", "nova-compute", "cinder-volume", "cinder-backup",
                 "neutron-rpc", "ovs-agent"):
        assert f"r2-{kind}" in names
    api = [s.name for s in S.all_services(layout, 2)]
    assert api == ["keystone", "r1-nova", "r1-cinder", "r1-neutron", "r1-glance",
                   "r2-nova", "r2-cinder", "r2-neutron", "r2-glance"]
    ks2 = S.Service("keystone", 2, layout, keystones=2)
    assert ks2.databases == []  # it shares the first keystone's
    assert S.Service("nova", 2, layout, keystones=2).auth_url == "http://127.0.0.1:15100/v3"
    assert S.Service("nova", 1, layout, keystones=2).auth_url == "http://127.0.0.1:5100/v3"


def test_multisite_conf_names_each_regions_notification_url(tmp_path):
    urls = {"RegionOne": "rabbit://guest:guest@127.0.0.1:5672/devcloud-r1",
            "RegionTwo": "rabbit://guest:guest@127.0.0.1:5672/devcloud-r2"}
    text = multisite_conf.render(tmp_path, notification_urls=urls)
    parser = configparser.ConfigParser(strict=False)
    parser.read_string(text)
    assert parser["notifications"]["region_transport_url"].endswith("devcloud-r2")
    lines = [ln for ln in text.splitlines() if ln.startswith("region_transport_url")]
    assert lines == [f"region_transport_url = {r}={u}" for r, u in urls.items()]


def _fake_venv_etc(layout):
    for rel in ("nova/api-paste.ini", "cinder/api-paste.ini", "cinder/resource_filters.json",
                "neutron/api-paste.ini", "glance/glance-api-paste.ini"):
        path = layout.venv / "etc" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def _read(path):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(path)
    return parser


def test_api_profile_configs_notify_on_the_region_vhost(tmp_path):
    layout = L.Layout(tmp_path, 100)
    _fake_venv_etc(layout)
    for svc in S.all_services(layout, 2):
        svc.write_config()
    nova = _read(layout.service_dir("nova", 2) / "nova.conf")
    assert nova["DEFAULT"]["transport_url"] == "fake://"
    notif = nova["oslo_messaging_notifications"]
    assert notif["driver"] == "messagingv2"
    assert notif["transport_url"] == "rabbit://guest:guest@127.0.0.1:5672/devcloud100-r2"
    keystone = _read(layout.service_dir("keystone", 0) / "keystone.conf")
    assert keystone["oslo_messaging_notifications"]["transport_url"].endswith("/devcloud100-r1")
    neutron = _read(layout.service_dir("neutron", 1) / "neutron.conf")
    assert neutron["DEFAULT"]["service_plugins"] == "router"


def test_full_profile_configs(tmp_path):
    layout = L.Layout(tmp_path, 0)
    _fake_venv_etc(layout)
    for svc in S.all_services(layout, 2, "mysql", profile="full", keystones=2):
        svc.write_config()
    nova = _read(layout.service_dir("nova", 1) / "nova.conf")
    assert nova["DEFAULT"]["transport_url"] == "rabbit://guest:guest@127.0.0.1:5672/devcloud-r1"
    assert nova["DEFAULT"]["compute_driver"] == "fake.FakeDriverWithoutFakeNodes"
    assert nova["placement"]["region_name"] == "RegionOne"
    assert _read(layout.service_dir("nova", 1) / "compute.conf")["DEFAULT"]["host"] == "r1-compute"
    # Nova sends a service token (the nova user's: role `service`) with its Cinder calls,
    # without which Cinder refuses the detach of an attached volume
    assert nova["service_user"]["send_service_user_token"] == "true"
    assert (nova["service_user"]["username"], nova["service_user"]["project_name"]) == (
        "nova", "service")
    assert _read(layout.service_dir("nova", 2) / "nova.conf")["service_user"]["auth_url"] == \
        "http://127.0.0.1:15000/v3"
    neutron = layout.service_dir("neutron", 2)
    assert _read(neutron / "neutron.conf")["DEFAULT"]["service_plugins"] == \
        "router,trunk,segments"
    assert _read(neutron / "ml2_conf.ini")["ml2_type_vlan"]["network_vlan_ranges"] == \
        "physnet1:100:200,physnet2:100:200"
    agent = _read(neutron / "ovs_agent.ini")
    assert agent["DEFAULT"]["host"] == "r2-compute"
    # the compute host is wired to physnet1 only: physnet2 is a routed network's far segment
    assert agent["standin"]["physnets"] == "physnet1,public"
    cinder = _read(layout.service_dir("cinder", 2) / "cinder.conf")
    assert cinder["DEFAULT"]["backup_posix_path"] == str(layout.backup_dir)  # shared
    # backup files (and cinder-backup's buffer per running backup) of 64 MiB, a multiple of
    # the 32 KiB SHA block incremental backups track
    size = int(cinder["DEFAULT"]["backup_file_size"])
    assert size == 64 * 1024 * 1024 and size % 32768 == 0
    assert cinder["nfs"]["volume_driver"] == "cinder.volume.drivers.nfs.NfsDriver"
    # RegionTwo's services authenticate against the second keystone
    assert cinder["keystone_authtoken"]["auth_url"] == "http://127.0.0.1:15000/v3"


def test_gateway_takes_the_top_regions_compute_volume_and_network_endpoints():
    from multisite.devcloud import cli
    from multisite.devcloud import keystone_setup as K

    gw = cli.gateway_url(8119)
    assert gw == "http://127.0.0.1:8119" and cli.gateway_url(0) is None
    urls = {(t, r): K.endpoint_url(t, r, offset=600, gateway_url=gw, top="RegionOne")
            for t in ("compute", "volumev3", "network", "image", "identity")
            for r in ("RegionOne", "RegionTwo")}
    assert urls[("compute", "RegionOne")] == "http://127.0.0.1:8119/compute/v2.1"
    assert urls[("volumev3", "RegionOne")] == "http://127.0.0.1:8119/volume/v3/%(project_id)s"
    assert urls[("network", "RegionOne")] == "http://127.0.0.1:8119/network"
    # the top region's images and identity, and every pod's services, stay the regions' own
    assert urls[("image", "RegionOne")] == K.endpoint_url("image", "RegionOne", offset=600)
    assert urls[("identity", "RegionOne")] == L.keystone_url(600)
    assert urls[("compute", "RegionTwo")] == f"http://127.0.0.1:{L.port('nova', 2, 600)}/v2.1"
    assert urls[("network", "RegionTwo")] == K.endpoint_url("network", "RegionTwo", offset=600)


def test_up_starts_again_an_agent_that_died_after_it_answered(tmp_path):
    """nova-compute can die at start-up after it answered (a race in Nova's cell
    scatter-gather): `up`'s readiness checks start it again, at most REVIVE_MAX times;
    API services and running daemons are left alone."""
    from multisite.devcloud import cli
    from multisite.devcloud.daemons import Daemon

    class Agent(Daemon):
        def is_running(self):
            return self.alive

        def start(self):
            self.starts += 1
            self.alive = self.kind != "nova-compute"     # this one keeps dying
            return 1

    layout = L.Layout(str(tmp_path), 0)
    dying, recovers, fine = (Agent(kind, 1, layout, profile="full")
                             for kind in ("nova-compute", "cinder-volume", "cinder-backup"))
    for agent, alive in ((dying, False), (recovers, False), (fine, True)):
        agent.alive, agent.starts = alive, 0
    api = S.Service("nova", 1, layout)
    lines = []
    revive = cli.reviver([api, dying, recovers, fine], lines.append)
    for _ in range(cli.REVIVE_MAX + 3):
        revive()
    assert (dying.starts, recovers.starts, fine.starts) == (cli.REVIVE_MAX, 1, 0)
    assert recovers.alive and len(lines) == cli.REVIVE_MAX + 1
    assert dying.name in lines[0] and str(dying.log_file) in lines[0]
