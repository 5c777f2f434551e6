"""Security groups in the big region's pods (issue 17, item 3) on the API-only devcloud's
real Neutrons: top groups `web` and `db` (db: tcp 5432 from web) made through the gateway;
a port on db realised in each pod (what a server boot does: the gateway copies db, with
its self-contained rules, and registers a seg_rule_setup job); a controller of the
registry's `net_secgroup` kind runs the job as an engine does: each pod gets a copy of web
and db's remote-group rule names the pod's copy of web (read from each pod's own
Neutron). A rule added through the gateway follows in both pods; a new job on converged
pods makes no Neutron write."""

import contextlib

import pytest

from multisite.clients import network
from multisite.engine import controller, queue, registry
from multisite.objects import jobs, routings, work_items
from multisite.reconcilers import net_security_group
from tests.integration.test_gateway import gateway  # noqa: F401  (fixture)
from tests.integration.test_gateway_neutron import (  # noqa: F401
    POD_OF,
    member_network,
    nconf,
    realise,
)
from tests.polling import wait_for

pytestmark = pytest.mark.integration


def run(conf, project_id):
    """The project's work item claimed and run by a controller of the registry's kind."""
    kind = next(k for k in registry.KINDS if k.name == net_security_group.KIND)
    ctl = controller.Controller(kind, conf=conf, engine_id="test", queue=queue.WorkQueue(),
                                shared=kind.env(conf, "test"),
                                leases=kind.leases(conf, "test"))
    try:
        (item,) = ctl.leases.claim(limit=5)
        assert item["key_id"] == project_id
        assert ctl.hand([item]) == [item]
        wait_for(lambda: work_items.get(conf, item["id"])["claimed_by"] is None,
                 timeout=120, what="the project's work item run")
    finally:
        ctl.stop()
    return work_items.get(conf, item["id"])["status"]


def copies(devcloud, pod, project_id):
    """{name: group} of the project's groups in a pod (copies are named by top id)."""
    admin = devcloud.admin_connection(pod).network
    return {g.name: g for g in admin.security_groups(project_id=project_id)}


def remote_rules(group):
    return sorted((r["port_range_min"], r["remote_group_id"])
                  for r in group.security_group_rules if r["remote_group_id"])


def test_remote_group_rules_are_mapped_to_each_pods_copies_and_follow_the_top(
        devcloud, fresh_project, gateway, nconf):  # noqa: F811
    sdk = member_network(devcloud, fresh_project, gateway)
    net = sdk.network.create_network(name="sg-net", availability_zone_hints=["az1", "az2"])
    groups, ports = {}, []
    try:
        sdk.network.create_subnet(network_id=net.id, cidr="10.9.0.0/24", ip_version=4)
        for name in ("web", "db"):
            groups[name] = sdk.network.create_security_group(name=name)
        sdk.network.create_security_group_rule(
            security_group_id=groups["db"].id, direction="ingress", ethertype="IPv4",
            protocol="tcp", port_range_min=5432, port_range_max=5432,
            remote_group_id=groups["web"].id)
        for zone in ("az1", "az2"):
            port = sdk.network.create_port(network_id=net.id, name=f"p-{zone}",
                                           security_group_ids=[groups["db"].id])
            ports.append(port)
            realise(nconf, devcloud, fresh_project, port.id, zone)
        (job,) = jobs.list_jobs(nconf, project_id=fresh_project.id)[0]
        assert (job["type"], job["status"]) == ("seg_rule_setup", "NEW")
        for pod in POD_OF.values():   # the boot copied db alone, without its web rule
            found = copies(devcloud, pod, fresh_project.id)
            assert groups["web"].id not in found and remote_rules(
                found[groups["db"].id]) == []
        before = network.writes()
        assert run(nconf, fresh_project.id) == "DONE"
        assert jobs.get(nconf, job["id"])["status"] == "SUCCESS"
        print(f"\nnet17 security groups: first run {network.writes() - before} writes")
        for pod in POD_OF.values():
            found = copies(devcloud, pod, fresh_project.id)
            web = found[groups["web"].id]
            assert remote_rules(found[groups["db"].id]) == [(5432, web.id)]
            assert any(r["bottom_id"] == web.id for r in routings.find(
                nconf, top_id=groups["web"].id, resource_type="security_group"))
        # a rule added through the gateway: a job, both pods follow
        sdk.network.create_security_group_rule(
            security_group_id=groups["db"].id, direction="ingress", ethertype="IPv4",
            protocol="tcp", port_range_min=22, port_range_max=22,
            remote_group_id=groups["db"].id)
        (new,) = jobs.list_jobs(nconf, project_id=fresh_project.id, status="NEW")[0]
        assert run(nconf, fresh_project.id) == "DONE"
        for pod in POD_OF.values():
            found = copies(devcloud, pod, fresh_project.id)
            db = found[groups["db"].id]
            assert remote_rules(db) == sorted([(22, db.id),
                                               (5432, found[groups["web"].id].id)])
        # converged: a new job makes no write
        jobs.create(nconf, project_id=fresh_project.id, job_type="seg_rule_setup",
                    resource={"project_id": fresh_project.id})
        before = network.writes()
        assert run(nconf, fresh_project.id) == "DONE"
        assert network.writes() == before
        # teardown through the gateway: the ports, then the groups, take their copies
        for port in ports:
            sdk.network.delete_port(port)
        for name in ("db", "web"):
            sdk.network.delete_security_group(groups[name])
        for pod in POD_OF.values():
            left = copies(devcloud, pod, fresh_project.id)
            assert not {groups["db"].id, groups["web"].id} & set(left), left
    finally:
        for port in ports:
            sdk.network.delete_port(port, ignore_missing=True)
        for name in ("db", "web"):
            if name in groups:
                sdk.network.delete_security_group(groups[name], ignore_missing=True)
        for pod in POD_OF.values():
            admin = devcloud.admin_connection(pod).network
            for bnet in admin.networks(name=net.id):
                for port in admin.ports(network_id=bnet.id):
                    admin.delete_port(port, ignore_missing=True)
                admin.delete_network(bnet, ignore_missing=True)
            for group in admin.security_groups(project_id=fresh_project.id):
                if group.name != "default":
                    with contextlib.suppress(Exception):
                        admin.delete_security_group(group, ignore_missing=True)
        wait_for(lambda: sdk.network.delete_network(net, ignore_missing=True) is None,
                 timeout=30, what="top network deleted")
