"""A security-group rule created or deleted, or a group updated, through the gateway
registers a seg_rule_setup job for the project once one of its groups has a copy in a pod
(issue 17); before any copy, nothing is registered; a refused call registers nothing."""

from multisite.objects import jobs, pods, routings, work_items
from multisite.reconcilers import net_security_group
from tests.functional.gateway.test_neutron_gateway import (  # noqa: F401  (fixtures)
    PROJECT,
    call,
    cloud,
    gateway,
)


def test_group_changes_register_a_job_once_a_group_is_in_a_pod(gateway, cloud, db):  # noqa: F811
    rule = {"security_group_rule": {"security_group_id": "sg-default", "direction": "ingress",
                                    "ethertype": "IPv4", "protocol": "tcp",
                                    "port_range_min": 80, "port_range_max": 80}}
    resp, body = call(gateway, "POST", "/network/v2.0/security-group-rules", rule)
    assert resp.status_int == 201, body
    assert jobs.list_jobs(db, project_id=PROJECT)[0] == []        # no copy anywhere yet
    pod = next(p for p in pods.list_pods(db) if p["pod_name"] == "RegionTwo")
    routings.create(db, top_id="sg-default", pod_id=pod["pod_id"], project_id=PROJECT,
                    resource_type="security_group", bottom_id="bottom-sg")
    rule["security_group_rule"]["port_range_min"] = 443
    rule["security_group_rule"]["port_range_max"] = 443
    resp, body = call(gateway, "POST", "/network/v2.0/security-group-rules", rule)
    assert resp.status_int == 201, body
    (job,) = jobs.list_jobs(db, project_id=PROJECT)[0]
    assert (job["type"], job["status"], job["resource"]) == (
        "seg_rule_setup", "NEW", {"project_id": PROJECT})
    assert [i["key_id"] for i in work_items.list_items(
        db, kind=net_security_group.KIND)] == [PROJECT]
    # one NEW job of the project at a time: a delete and a group update reuse it
    resp, _ = call(gateway, "DELETE",
                   f"/network/v2.0/security-group-rules/{body['security_group_rule']['id']}")
    assert resp.status_int == 204
    resp, _ = call(gateway, "PUT", "/network/v2.0/security-groups/sg-default",
                   {"security_group": {"description": "changed"}})
    assert resp.status_int == 200
    assert [j["id"] for j in jobs.list_jobs(db, project_id=PROJECT)[0]] == [job["id"]]
    jobs.set_status(db, job["id"], jobs.SUCCESS)
    resp, _ = call(gateway, "DELETE", "/network/v2.0/security-group-rules/nope")
    assert resp.status_int == 404
    assert len(jobs.list_jobs(db, project_id=PROJECT)[0]) == 1
    resp, _ = call(gateway, "PUT", "/network/v2.0/security-groups/sg-default",
                   {"security_group": {"description": "again"}})
    assert resp.status_int == 200
    assert len(jobs.list_jobs(db, project_id=PROJECT, status="NEW")[0]) == 1
