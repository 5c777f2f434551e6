"""objects.sync_policies: a project's audit reads and writes on three backends."""

import uuid

import pytest

from multisite.db import migration
from multisite.objects import sync_policies


@pytest.fixture
def synced(conf, backend_url):
    migration.db_sync(conf)
    return conf


def _policy(conf, project, name):
    return sync_policies.create(conf, project_id=project, user_id="u",
                                resource_type="security_group", resources=[name],
                                source="R1", targets=None, on_drift="enforce")


def _record(policy, region, state="in_sync", detail=(), managed=("web",), repaired=False):
    return {"policy_id": policy["id"], "region": region, "state": state,
            "detail": list(detail), "managed": list(managed), "repaired": repaired}


def _previous(policies):
    return {(p["id"], r): t for p in policies for r, t in p["targets_state"].items()}


def _stamps(conf, policy):
    return {t["region"]: t["audited_at"] for t in sync_policies.get(conf, policy)
            ["targets_state"]}


def test_a_pass_inserts_then_changes_only_what_differs(synced):
    conf, project = synced, uuid.uuid4().hex
    web, app = _policy(conf, project, "web"), _policy(conf, project, "app")
    _policy(conf, uuid.uuid4().hex, "other")          # another project's: never read
    first = sync_policies.of_project(conf, project)
    assert sorted(p["id"] for p in first) == sorted([web["id"], app["id"]])
    assert all(p["targets_state"] == {} for p in first)
    sync_policies.record_pass(conf, [_record(web, "R2"), _record(web, "R3"),
                                     _record(app, "R2")], previous=_previous(first))
    read = {p["id"]: p for p in sync_policies.of_project(conf, project)}
    assert read[web["id"]]["targets_state"]["R3"] == {
        "region": "R3", "state": "in_sync", "detail": [], "managed": ["web"]}
    stamps = _stamps(conf, web["id"])

    # the next pass: one target drifted, the rest unchanged (only re-stamped)
    drift = [{"resource": "web", "state": "drifted", "detail": "missing rules: x"}]
    sync_policies.record_pass(
        conf, [_record(web, "R2", state="drifted", detail=drift), _record(web, "R3"),
               _record(app, "R2")], previous=_previous(read.values()))
    shown = {t["region"]: t for t in sync_policies.get(conf, web["id"])["targets_state"]}
    assert shown["R2"]["state"] == "drifted" and shown["R2"]["detail"] == drift
    assert shown["R3"]["state"] == "in_sync" and shown["R3"]["managed"] == ["web"]
    assert all(shown[r]["audited_at"] >= stamps[r] for r in ("R2", "R3"))
    assert shown["R2"]["repaired_at"] is None


def test_rows_made_during_the_pass_and_deleted_policies(synced):
    conf, project = synced, uuid.uuid4().hex
    web, gone = _policy(conf, project, "web"), _policy(conf, project, "gone")
    previous = _previous(sync_policies.of_project(conf, project))
    # a repair recorded what it owns before creating it: the row exists now
    sync_policies.set_managed(conf, policy_id=web["id"], region="R2", managed=["web"])
    sync_policies.delete(conf, gone["id"])
    sync_policies.record_pass(conf, [_record(web, "R2", managed=("web", "app"),
                                             repaired=True), _record(gone, "R2")],
                              previous=previous)
    (target,) = sync_policies.get(conf, web["id"])["targets_state"]
    assert target["managed"] == ["app", "web"] and target["repaired_at"] is not None
    assert sync_policies.get(conf, gone["id"]) is None
    # without `previous`, the rows are read in the transaction
    sync_policies.record_pass(conf, [_record(web, "R2", state="conflict",
                                             managed=("web",))])
    (target,) = sync_policies.get(conf, web["id"])["targets_state"]
    assert (target["state"], target["managed"]) == ("conflict", ["web"])
