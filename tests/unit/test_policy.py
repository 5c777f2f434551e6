"""The default policy rules as a matrix: who may do what (spec 2.8, policies/)."""

import os

import pytest
from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from multisite.api import policies
from multisite.api.policies import (
    address_conflicts,
    addresses,
    events,
    identity_nodes,
    images,
    inventory,
    jobs,
    key_rotations,
    metrics,
    pods,
    protection_plans,
    quota_classes,
    quota_settings,
    quotas,
    regions,
    restores,
    routers,
    routings,
    sessions,
    sync_jobs,
    sync_policies,
    sync_status,
)

PROJECT = "6f1a3b2c4d5e4f708192a3b4c5d6e7f8"
OTHER = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"

READS = [quotas.DEFAULTS, quotas.SHOW, quotas.DETAIL, sync_status.SHOW, quota_classes.SHOW,
         quota_settings.SHOW, sync_jobs.LIST, sync_jobs.SHOW,
         events.LIST, events.SHOW, regions.LIST, regions.SHOW, inventory.LIST,
         addresses.LIST, addresses.SHOW, address_conflicts.LIST, address_conflicts.SHOW,
         address_conflicts.CHECK, sync_policies.LIST, sync_policies.SHOW,
         protection_plans.LIST, protection_plans.SHOW, protection_plans.CHECKPOINT_LIST,
         protection_plans.CHECKPOINT_SHOW, restores.LIST, restores.SHOW,
         images.DIST_LIST, images.DIST_SHOW, images.ROLLOUT_LIST, images.ROLLOUT_SHOW,
         routers.TOPOLOGY]
# admin only (the name says "writes": what only an admin may do, reads of all projects too)
WRITES = [quotas.UPDATE, quotas.DELETE, quotas.SYNC, quota_classes.UPDATE,
          quota_classes.DELETE, quota_settings.UPDATE, sync_jobs.CREATE_FLAVOR,
          sync_policies.CREATE_FLAVOR,
          sync_jobs.LIST_ALL_PROJECTS, events.LIST_ALL_PROJECTS, regions.CAPACITY,
          metrics.SHOW, addresses.LIST_ALL_PROJECTS, address_conflicts.LIST_ALL_PROJECTS,
          sync_policies.LIST_ALL_PROJECTS, identity_nodes.LIST, identity_nodes.SHOW,
          key_rotations.CREATE, key_rotations.LIST, key_rotations.SHOW,
          protection_plans.LIST_ALL_PROJECTS, restores.LIST_ALL_PROJECTS,
          restores.DRILL_INTO_PROJECT,
          images.LIST_ALL_PROJECTS, routers.TOPOLOGY_ALL_PROJECTS]
# the big region's pods, routings and jobs: admin only (Tricircle's admin API)
WRITES += [rule.name for module in (pods, routings, jobs) for rule in module.list_rules()]
# what a member (not a reader) of the project may do besides an admin
MEMBER_WRITES = [sync_jobs.CREATE, sync_jobs.DELETE, sync_policies.CREATE,
                 sync_policies.DELETE, sync_policies.AUDIT, protection_plans.CREATE,
                 protection_plans.DELETE, protection_plans.DISCOVER,
                 protection_plans.CHECKPOINT_CREATE, restores.DRILL, restores.FAILOVER,
                 images.DIST_SET,
                 images.DIST_DELETE, images.ENSURE, images.ROLLOUT_CREATE, images.ROLLOUT_ACT]
# one's own dashboard session: any authenticated caller
ANY_CALLER = [sessions.SHOW, sessions.DELETE]

# name: (roles, token project, may read PROJECT, may write PROJECT)
PERSONAS = {
    "admin-in-role-list": (["admin", "member", "reader"], OTHER, True, True),
    "admin-single-role": (["admin"], OTHER, True, True),
    "admin-any-case": (["Admin"], OTHER, True, True),
    "admin-uppercase-in-list": (["reader", "ADMIN"], OTHER, True, True),
    "member-own-project": (["member"], PROJECT, True, False),
    "legacy-member-own-project": (["_member_"], PROJECT, True, False),
    "member-other-project": (["member", "reader"], OTHER, False, False),
    "reader-own-project": (["reader"], PROJECT, True, False),
    "reader-other-project": (["reader"], OTHER, False, False),
    "no-role-own-project": ([], PROJECT, False, False),
    "unknown-role-own-project": (["observer"], PROJECT, False, False),
    "admin-substring-is-not-admin": (["administrator", "sysadmin"], OTHER, False, False),
}


@pytest.fixture(scope="module")
def enforcer():
    conf = cfg.ConfigOpts()
    conf([], project="multisite", default_config_files=[])
    enforcer = oslo_policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    enforcer.load_rules()
    return enforcer


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("rule", READS + WRITES + MEMBER_WRITES + ANY_CALLER)
def test_rule_matrix(enforcer, persona, rule):
    roles, project, may_read, may_write = PERSONAS[persona]
    may_member_write = may_write or (project == PROJECT and bool(
        {"member", "_member_"} & set(roles)))
    creds = {"roles": roles, "project_id": project, "user_id": "u"}
    allowed = enforcer.authorize(rule, {"project_id": PROJECT}, creds, do_raise=False)
    if rule in ANY_CALLER:
        assert allowed is True
    elif rule in MEMBER_WRITES:
        assert allowed is may_member_write
    else:
        assert allowed is (may_write if rule in WRITES else may_read)


def test_every_rule_is_in_the_matrix():
    documented = {rule.name for rule in policies.list_rules()
                  if isinstance(rule, oslo_policy.DocumentedRuleDefault)}
    assert documented == set(READS + WRITES + MEMBER_WRITES + ANY_CALLER)


def test_old_sync_status_rule_name_still_works(tmp_path):
    """A policy file written for the rule's old name still decides."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"multisite:quotas:sync_status": "role:auditor"\n')
    conf = cfg.ConfigOpts()
    conf([], project="multisite", default_config_files=[])
    enforcer = oslo_policy.Enforcer(conf, policy_file=str(policy_file))
    enforcer.register_defaults(policies.list_rules())
    enforcer.load_rules()
    creds = {"roles": ["auditor"], "project_id": OTHER, "user_id": "u"}
    assert enforcer.authorize(sync_status.SHOW, {"project_id": PROJECT}, creds,
                              do_raise=False)


@pytest.mark.parametrize("roles, admin", [
    (["admin"], True), (["ADMIN"], True), (["member", "admin"], True),
    (["member"], False), (["admins"], False), ([], False),
])
def test_context_is_admin(enforcer, roles, admin):
    assert enforcer.authorize("context_is_admin", {}, {"roles": roles}, do_raise=False) is admin


def test_every_documented_rule_names_its_operations():
    for rule in policies.list_rules():
        if isinstance(rule, oslo_policy.DocumentedRuleDefault):
            assert rule.operations and rule.description, rule.name


def test_policy_file_changes_are_seen_within_the_check_interval(tmp_path, monkeypatch):
    from multisite.api import policy
    from multisite.conf import api as api_conf

    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text('"multisite:quotas:sync_status": "role:auditor"\n')
    conf = cfg.ConfigOpts()
    api_conf.register_opts(conf)
    conf([], project="multisite-test")
    conf.set_override("policy_file_check_interval", 5.0, group="api")
    enforcer = policy.Enforcer(conf, policy_file=str(policy_file))
    enforcer.register_defaults(policies.list_rules())
    auditor = {"roles": ["auditor"], "project_id": "p", "user_id": "u"}
    member = {"roles": ["member"], "project_id": "p", "user_id": "u"}
    clock = [1000.0]
    monkeypatch.setattr(policy.time, "monotonic", lambda: clock[0])
    stats = []
    real_load = oslo_policy.Enforcer._load_policy_file

    def counting_load(self, *args, **kwargs):
        stats.append(args[0])
        return real_load(self, *args, **kwargs)

    monkeypatch.setattr(oslo_policy.Enforcer, "_load_policy_file", counting_load)
    rule = "multisite:quotas:sync_status"
    assert enforcer.enforce(rule, {}, auditor)
    assert not enforcer.enforce(rule, {}, member)
    assert len(stats) == 1  # the file is looked at once, not per check

    policy_file.write_text('"multisite:quotas:sync_status": "role:member"\n')
    os.utime(policy_file, (2_000_000_000, 2_000_000_000))
    clock[0] += 4.9
    assert enforcer.enforce(rule, {}, auditor)  # not looked at yet: the old rule holds
    clock[0] += 0.2
    assert enforcer.enforce(rule, {}, member)  # the interval passed: the new rule
    assert not enforcer.enforce(rule, {}, auditor)
    assert len(stats) == 2


def _counting_enforcer(tmp_path, monkeypatch, text):
    from multisite.api import policy
    from multisite.conf import api as api_conf

    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(text)
    conf = cfg.ConfigOpts()
    api_conf.register_opts(conf)
    conf([], project="multisite-test")
    enforcer = policy.Enforcer(conf, policy_file=str(policy_file))
    enforcer.register_defaults(policies.list_rules())
    evaluations = []
    real_check = oslo_policy._checks._check

    def counting_check(rule, *args, **kwargs):
        evaluations.append(rule)
        return real_check(rule, *args, **kwargs)

    monkeypatch.setattr(oslo_policy._checks, "_check", counting_check)
    return enforcer, evaluations


def test_decisions_are_remembered_per_rule_target_and_credentials(tmp_path, monkeypatch):
    enforcer, evaluations = _counting_enforcer(
        tmp_path, monkeypatch, '"multisite:quotas:sync_status": "project_id:%(project_id)s"\n')
    rule = "multisite:quotas:sync_status"
    mine = {"roles": ["member"], "project_id": "p1", "user_id": "u"}
    other = {"roles": ["member"], "project_id": "p2", "user_id": "u"}
    assert enforcer.enforce(rule, {"project_id": "p1"}, mine)
    first = len(evaluations)
    assert first > 0
    for _ in range(5):
        assert enforcer.enforce(rule, {"project_id": "p1"}, mine)
    assert len(evaluations) == first  # remembered, not evaluated again
    # another target or other credentials are their own decisions
    assert not enforcer.enforce(rule, {"project_id": "p1"}, other)
    assert not enforcer.enforce(rule, {"project_id": "p2"}, mine)
    assert enforcer.enforce(rule, {"project_id": "p2"}, other)
    # a refusal raises when asked to, remembered or not
    for _ in range(2):
        with pytest.raises(oslo_policy.PolicyNotAuthorized):
            enforcer.enforce(rule, {"project_id": "p1"}, other, do_raise=True)


def test_a_policy_with_a_remote_check_is_evaluated_every_time(tmp_path, monkeypatch):
    enforcer, evaluations = _counting_enforcer(
        tmp_path, monkeypatch,
        '"multisite:quotas:sync_status": "role:admin or http://127.0.0.1:9/never"\n')
    admin = {"roles": ["admin"], "project_id": "p1", "user_id": "u"}
    rule = "multisite:quotas:sync_status"
    assert enforcer.enforce(rule, {}, admin)
    first = len(evaluations)
    assert enforcer.enforce(rule, {}, admin)
    assert len(evaluations) == 2 * first  # nothing remembered: the http check may change
