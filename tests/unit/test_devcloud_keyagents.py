"""devcloud, issue 18: key agents beside the Keystones (ports, PKI, config), RegionTwo's
services on the failover plugin, and the [identity] section of the Multisite config."""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json

from multisite.devcloud import cli, configs, keyagents
from multisite.devcloud import layout as L
from multisite.devcloud import services as S


def test_agents_sit_beside_each_keystone_on_shifted_ports(tmp_path):
    layout = L.Layout(tmp_path, 400)
    services = S.all_services(layout, 2, "mysql", keystones=2, keyagents=True)
    agents = [s for s in services if s.kind == "keyagent"]
    assert [(a.name, a.region, a.port, a.keystone_dir.name) for a in agents] == [
        ("keyagent", "RegionOne", 8519, "keystone"), ("keyagent2", "RegionTwo", 18519,
                                                      "keystone2")]
    assert not any(s.kind == "keyagent" for s in S.all_services(layout, 2, "mysql",
                                                                 keystones=2))
    assert keyagents.node_options(layout, 2) == [
        "ks1|RegionOne|http://127.0.0.1:5400/v3|https://127.0.0.1:8519",
        "ks2|RegionTwo|http://127.0.0.1:15400/v3|https://127.0.0.1:18519"]


def test_agent_config_and_pki(tmp_path):
    layout = L.Layout(tmp_path, 0)
    agent = keyagents.agents(layout, "mysql", 2)[1]
    agent.write_config()
    text = agent.conf_files[0].read_text()
    assert f"fernet_repository = {tmp_path / 'keystone2' / 'fernet-keys'}" in text
    assert f"credential_repository = {tmp_path / 'keystone2' / 'credential-keys'}" in text
    assert "bind_port = 18119" in text
    assert f"--config-file {tmp_path / 'keystone2' / 'keystone.conf'} credential_migrate" in text
    files = keyagents.client_files(layout)
    for path in (*files.values(), tmp_path / "pki" / "keyagent2.pem"):
        assert (tmp_path / "pki" / path).exists()
    assert agent.command()[1:3] == ["-m", "multisite.keyagent"]
    assert agent.env()["PYTHONPATH"] == str(tmp_path / "multisite-lib")


def test_only_regiontwos_services_use_the_failover_plugin(tmp_path):
    layout = L.Layout(tmp_path, 0)

    def section(kind, index, keystones):
        svc = S.Service(kind, index, layout, "mysql", keystones=keystones)
        return configs.authtoken(svc), svc

    text, svc = section("nova", 2, 2)
    assert "auth_type = multisite_failover" in text
    assert "auth_url = http://127.0.0.1:15000/v3" in text  # local first
    assert "failover_urls = http://127.0.0.1:5000/v3" in text
    assert svc.env()["PYTHONPATH"] == str(tmp_path / "multisite-lib")
    for kind, index, keystones in (("nova", 1, 2), ("nova", 2, 1), ("cinder", 1, 2)):
        text, svc = section(kind, index, keystones)
        assert "auth_type = password" in text and "PYTHONPATH" not in svc.env()


def test_the_plugin_is_found_through_the_lib_dir(tmp_path):
    lib = keyagents.ensure_lib(L.Layout(tmp_path, 0))
    assert (lib / "multisite").resolve() == L.repo_root() / "multisite"
    found = [ep for dist in importlib.metadata.distributions(path=[str(lib)])
             for ep in dist.entry_points if ep.group == "keystoneauth1.plugin"]
    assert [(ep.name, ep.value) for ep in found] == [
        ("multisite_failover", "multisite.failover.plugin:FailoverLoader")]
    assert keyagents.ensure_lib(L.Layout(tmp_path, 0)) == lib  # idempotent


def test_multisite_conf_manages_the_keystones_of_a_devcloud_with_agents(tmp_path):
    layout = L.Layout(tmp_path, 200)
    layout.write_state({"regions": 2, "keystones": 2, "keyagents": True, "port_offset": 200,
                        "db": "mysql"})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--base", str(tmp_path), "multisite-conf"]) == 0
    text = out.getvalue()
    assert "[identity]\nnode = ks1|RegionOne|http://127.0.0.1:5200/v3|https://127.0.0.1:8319\n" \
           "node = ks2|RegionTwo|http://127.0.0.1:15200/v3|https://127.0.0.1:18319\n" in text
    assert f"agent_cert_file = {tmp_path / 'pki' / 'multisite.pem'}" in text
    layout.write_state({**json.loads(layout.state_file.read_text()), "keyagents": False})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(["--base", str(tmp_path), "multisite-conf"])
    assert "[identity]" not in out.getvalue()
