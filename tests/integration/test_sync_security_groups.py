"""os-sync of security groups against the devcloud's real Neutron in three regions.

The API and an engine run in this process (as in test_sync_jobs); the engine's Neutron
writes are counted by clients.network, so "a second sync is a no-op" is measured.
"""

import contextlib

import pytest

from multisite.clients import network as network_client
from tests.integration.test_sync_jobs import Api, stack  # noqa: F401 (fixture)
from tests.integration.usage import unique

pytestmark = pytest.mark.integration
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"


@contextlib.contextmanager
def cleanup_groups(devcloud, project):
    try:
        yield
    finally:
        for region in (R1, R2, R3):
            conn = devcloud.admin_connection(region)
            for group in list(conn.network.security_groups(project_id=project.id)):
                with contextlib.suppress(Exception):
                    conn.network.delete_security_group(group)


def _shape(conn, project_id):
    """{group name: sorted rules}, remote groups by name and prefixes as Neutron holds them."""
    groups = list(conn.network.security_groups(project_id=project_id))
    names = {g.id: g.name for g in groups}
    shape = {}
    for group in groups:
        rules = sorted(
            (r["direction"], r["ethertype"], str(r["protocol"]), str(r["port_range_min"]),
             str(r["port_range_max"]), str(r["remote_ip_prefix"]),
             str(names.get(r["remote_group_id"], r["remote_group_id"])), r["description"] or "")
            for r in group.security_group_rules)
        shape[group.name] = (group.description, rules)
    return shape


def _make_web_and_app(conn):
    web = conn.network.create_security_group(name="web", description="web tier")
    app = conn.network.create_security_group(name="app", description="app tier")
    rule = conn.network.create_security_group_rule
    rule(security_group_id=web.id, direction="ingress", ethertype="IPv4", protocol="tcp",
         port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.0/8")
    rule(security_group_id=web.id, direction="ingress", ethertype="IPv6", protocol="tcp",
         port_range_min=443, port_range_max=443, remote_ip_prefix="::/0")
    rule(security_group_id=web.id, direction="ingress", ethertype="IPv4",
         remote_group_id=app.id, description="from app")
    rule(security_group_id=app.id, direction="ingress", ethertype="IPv4", protocol="tcp",
         port_range_min=8080, port_range_max=8080, remote_group_id=web.id)
    rule(security_group_id=app.id, direction="ingress", ethertype="IPv4",
         remote_group_id=app.id, description="self")
    return web, app


def _ok(api, job_id):
    rows = api.wait(job_id)
    assert {r["sync_status"] for r in rows} == {"SUCCESS"}, rows
    return rows


def test_web_and_app_cross_references_no_op_force_and_default(stack, fresh_project,  # noqa: F811
                                                              devcloud):
    api = Api(stack, fresh_project)
    source = fresh_project.connect(R1)
    with cleanup_groups(devcloud, fresh_project):
        _make_web_and_app(source)
        _ok(api, api.create("security_group", ["web"]))
        want = _shape(source, fresh_project.id)
        for region in (R2, R3):
            conn = fresh_project.connect(region)
            got = _shape(conn, fresh_project.id)
            assert got["web"] == want["web"] and got["app"] == want["app"], region
            groups = {g.name: g for g in conn.network.security_groups(
                project_id=fresh_project.id)}
            refs = {g: {r["remote_group_id"] for r in groups[g].security_group_rules}
                    for g in ("web", "app")}
            # the target's own ids, never the source's
            assert refs["web"] == {None, groups["app"].id}
            assert refs["app"] == {groups["web"].id, groups["app"].id}

        # a second sync (of both groups) changes nothing: no Neutron write at all
        revisions = {region: {g.name: g.revision_number for g in fresh_project.connect(
            region).network.security_groups(project_id=fresh_project.id)}
            for region in (R2, R3)}
        writes = network_client.writes()
        _ok(api, api.create("security_group", ["web", "app"]))
        assert network_client.writes() == writes
        for region in (R2, R3):
            assert {g.name: g.revision_number for g in fresh_project.connect(
                region).network.security_groups(project_id=fresh_project.id)} == \
                revisions[region]

        # a changed target: FAILURE naming the difference, then force makes it equal
        r2 = fresh_project.connect(R2)
        target_web = next(iter(r2.network.security_groups(name="web",
                                                          project_id=fresh_project.id)))
        r2.network.create_security_group_rule(
            security_group_id=target_web.id, direction="ingress", ethertype="IPv4",
            protocol="udp", port_range_min=53, port_range_max=53)
        rows = api.wait(api.create("security_group", ["web"], targets=[R2]))
        assert rows[0]["sync_status"] == "FAILURE"
        assert "extra rules: ingress IPv4 udp 53-53 from any" in rows[0]["error"]
        _ok(api, api.create("security_group", ["web"], targets=[R2], force="True"))
        assert _shape(r2, fresh_project.id)["web"] == want["web"]

        # default: rules reconciled (self reference mapped), never a second default group
        default = next(iter(source.network.security_groups(name="default",
                                                           project_id=fresh_project.id)))
        source.network.create_security_group_rule(
            security_group_id=default.id, direction="ingress", ethertype="IPv4",
            remote_group_id=default.id)
        source.network.create_security_group_rule(
            security_group_id=default.id, direction="ingress", ethertype="IPv4",
            protocol="tcp", port_range_min=80, port_range_max=80)
        for _ in range(2):
            _ok(api, api.create("security_group", ["default"]))
        want = _shape(source, fresh_project.id)
        for region in (R2, R3):
            conn = fresh_project.connect(region)
            defaults = list(conn.network.security_groups(name="default",
                                                         project_id=fresh_project.id))
            assert len(defaults) == 1
            assert _shape(conn, fresh_project.id)["default"][1] == want["default"][1]
            assert defaults[0].id in {r["remote_group_id"]
                                      for r in defaults[0].security_group_rules}


def test_unknown_group_is_rejected_before_any_job(stack, fresh_project):  # noqa: F811
    api = Api(stack, fresh_project)
    status, body = api("POST", "/", {"resource_set": {
        "resource_type": "security_group", "resources": [unique("nosuch")], "source": R1,
        "target": [R2]}})
    assert status == 404, body
