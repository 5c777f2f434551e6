"""The default policy rules as a matrix: who may do what (spec 2.8, policies/)."""

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
         images.DIST_LIST, images.DIST_SHOW, images.ROLLOUT_LIST, images.ROLLOUT_SHOW]
# admin only (the name says "writes": what only an admin may do, reads of all projects too)
WRITES = [quotas.UPDATE, quotas.DELETE, quotas.SYNC, quota_classes.UPDATE,
          quota_classes.DELETE, quota_settings.UPDATE, sync_jobs.CREATE_FLAVOR,
          sync_policies.CREATE_FLAVOR,
          sync_jobs.LIST_ALL_PROJECTS, events.LIST_ALL_PROJECTS, regions.CAPACITY,
          metrics.SHOW, addresses.LIST_ALL_PROJECTS, address_conflicts.LIST_ALL_PROJECTS,
          sync_policies.LIST_ALL_PROJECTS, identity_nodes.LIST, identity_nodes.SHOW,
          key_rotations.CREATE, key_rotations.LIST, key_rotations.SHOW,
          protection_plans.LIST_ALL_PROJECTS, restores.LIST_ALL_PROJECTS,
          images.LIST_ALL_PROJECTS]
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
