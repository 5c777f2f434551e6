"""Credential key rotations: Keystone's 3 credential keys, staged like the Fernet keys, then
credential_migrate on one node, then every Keystone reads the credentials."""

import types

import pytest

from multisite.clients import errors as client_errors
from multisite.keyagent import repository
from multisite.reconcilers import Key, TemporaryError
from multisite.reconcilers import key_rotation as kr


def test_credential_rotations_keep_three_keys_whatever_max_active_keys_says():
    assert kr.max_active_keys("credential", 7) == 3
    assert kr.max_active_keys("fernet", 7) == 7
    base = {0: repository.new_key(), 1: repository.new_key(), 2: repository.new_key()}
    target = kr.prepare(base, repository.new_key(), kr.max_active_keys("credential", 7))
    # the staged key 0 becomes the primary, the old primary the one secondary kept
    assert sorted(target.final) == [0, 3, 4]
    assert target.final[4] == base[0] and target.final[3] == base[2]
    assert base[1] not in target.final.values()  # what credential_migrate must have moved


@pytest.mark.parametrize("base, observed, chosen", [
    ("a", {"a": "h", "b": "h"}, "a"),
    ("a", {"a": None, "b": "h"}, "b"),      # the base node does not answer: the next one
    ("b", {"a": "h", "b": "h"}, "b"),
    ("a", {"a": None, "b": None}, None),
])
def test_migrate_node(base, observed, chosen):
    assert kr.migrate_node(base, ["a", "b"], observed) == chosen


class FakeStore:
    def __init__(self, rotation):
        self.rotation, self.updates, self.finished, self.recorded = rotation, [], None, None

    def get(self, rotation_id, with_keys=False):
        return dict(self.rotation)

    def last_final_hash(self, repository="fernet"):
        return None

    def save_target(self, rotation_id, **target):
        self.rotation.update(phase="distribute", base_node=target["base_node"],
                             staged_keys=target["staged"], final_keys=target["final"],
                             staged_hash=target["staged_hash"],
                             final_hash=target["final_hash"])

    def update(self, rotation_id, **values):
        self.updates.append(values)

    def finish(self, rotation_id, **values):
        self.finished = values

    def record_rotation(self, names, **values):
        self.recorded = (names, values)


class FakeShared:
    """Agents holding credential repositories in memory; migrate may fail."""

    retry_delay = 0.1
    max_active_keys = 7

    def __init__(self, store, *, migrate_fails=False):
        base = {0: repository.new_key(), 1: repository.new_key()}
        self.repos = {"a": dict(base), "b": dict(base)}
        self.store, self.migrate_fails = store, migrate_fails
        self.migrated, self.pushed_to = [], []

    def nodes(self):
        return [{"name": "a"}, {"name": "b"}]

    def observe(self, nodes, *, repository):
        assert repository == "credential"
        return {n: kr.repository.digest(k) for n, k in self.repos.items()}, {}

    def keys(self, name, repo):
        assert repo == "credential"
        return dict(self.repos[name])

    def push(self, assignments, *, repository):
        assert repository == "credential"
        self.pushed_to.append(repository)
        for name, keys in assignments.items():
            self.repos[name] = dict(keys)
        return {n: kr.repository.digest(self.repos[n]) for n in assignments}, {}

    def migrate_credentials(self, name):
        if self.migrate_fails:
            raise client_errors.RegionUnavailable(name, "key agent: HTTP 500")
        self.migrated.append(name)

    def verify_credentials(self, nodes):
        return {f"credentials@{n['name']}": 200 for n in nodes}

    def verify(self, nodes):
        raise AssertionError("a credential rotation validates no tokens")


def _rotation():
    return {"id": "r1", "repository": "credential", "phase": "prepare", "status": "running",
            "base_node": None, "staged_keys": {}, "final_keys": {}, "staged_hash": None,
            "final_hash": None}


def _reconcile(shared):
    return kr.reconcile(Key("key_rotation", "r1"), types.SimpleNamespace(shared=shared))


def test_a_credential_rotation_migrates_on_one_node_then_checks_every_keystone():
    store = FakeStore(_rotation())
    shared = FakeShared(store)
    outcome = _reconcile(shared)
    assert outcome.status == "done"
    assert shared.migrated == ["a"]                     # once, on the base node
    assert shared.repos["a"] == shared.repos["b"] == store.rotation["final_keys"]
    assert len(shared.repos["a"]) == 3
    assert store.finished["ok"] is True
    assert store.finished["verification"] == {"credentials@a": 200, "credentials@b": 200}
    names, values = store.recorded
    assert values["credential_hash"] == store.rotation["final_hash"]
    assert "fernet_hash" not in values


def test_a_failed_migration_keeps_the_rotation_waiting_and_unfinished():
    store = FakeStore(_rotation())
    shared = FakeShared(store, migrate_fails=True)
    with pytest.raises(TemporaryError, match="migrate: .*HTTP 500"):
        _reconcile(shared)
    assert store.finished is None and store.recorded is None
    assert store.updates[-1]["status"] == "waiting"
    assert store.updates[-1]["error"].startswith("migrate:")
    # promoted everywhere already: the retry only migrates
    shared.migrate_fails = False
    store.rotation["phase"] = "verify"
    assert _reconcile(shared).status == "done" and shared.migrated == ["a"]
