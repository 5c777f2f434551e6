"""The identity audit kind: its pure plan, and one reconcile pass against a fake environment."""

import datetime
import types

import pytest

from multisite.reconcilers import Key
from multisite.reconcilers import identity_audit as audit

NOW = datetime.datetime(2026, 12, 3, 12, 0, 0)


@pytest.mark.parametrize("observed, expected, source, drifted", [
    ({"a": "h1", "b": "h1"}, "h1", "a", []),                 # converged
    ({"a": "h1", "b": "h2"}, "h1", "a", ["b"]),              # b drifted: copy a's
    ({"a": "h2", "b": "h1"}, "h1", "b", ["a"]),              # the reference drifted
    ({"a": "h1", "b": None}, "h1", "a", []),                 # unreachable is not drift
    ({"a": "h2", "b": "h3"}, "h1", None, []),                # nobody holds it: a person decides
    ({"a": "h2", "b": "h3"}, None, None, []),                # no rotation yet: nothing expected
    ({"a": "h1", "b": "h2", "c": "h3"}, "h1", "a", ["b", "c"]),
])
def test_plan_repairs(observed, expected, source, drifted):
    assert audit.plan_repairs(list(observed), observed, expected) == (source, drifted)


@pytest.mark.parametrize("interval, last, due", [
    (0, None, False),                                        # only on request
    (3600, None, True),                                      # never rotated
    (3600, NOW - datetime.timedelta(seconds=3599), False),
    (3600, NOW - datetime.timedelta(seconds=3600), True),
])
def test_rotation_due(interval, last, due):
    assert audit.rotation_due(interval=interval, last_started=last, now=NOW) is due


class FakeStore:
    def __init__(self, expected, active=None, last_started=None, credential_started=None):
        self.expected, self._active, self.last_started = expected, active, last_started
        self.credential_started = credential_started
        self.ensured, self.started, self.drifts = [], [], []

    def active(self):
        return self._active

    def ensure_item(self, rotation_id):
        self.ensured.append(rotation_id)

    def last_final_hash(self):
        return self.expected

    def last_started_at(self, repository):
        return self.last_started if repository == "fernet" else self.credential_started

    def start(self, *, reason, repository):
        self.started.append((reason, repository))
        return f"rot-{repository}"

    def record_drift(self, node, **values):
        self.drifts.append((node["name"], values))


class FakeShared:
    """Nodes a, b, c whose agents answer ``hashes`` (None: unreachable); push copies keys."""

    def __init__(self, hashes, store, *, interval=0, credential_interval=0, refuse=()):
        self.hashes, self.store, self.rotation_interval = dict(hashes), store, interval
        self.credential_rotation_interval = credential_interval
        self.refuse = set(refuse)
        self.pushed, self.observed_calls, self.woken = {}, [], 0
        self.repos = {n: f"keys-of-{h}" for n, h in hashes.items()}

    def nodes(self):
        return [{"name": n, "region": f"Region-{n}"} for n in self.hashes]

    def observe(self, nodes, *, record=False):
        self.observed_calls.append([n["name"] for n in nodes])
        names = [n["name"] for n in nodes]
        return ({n: self.hashes[n] for n in names},
                {n: "unreachable" for n in names if self.hashes[n] is None})

    def keys(self, name):
        return self.repos[name]

    def push(self, assignments):
        errors = {n: "refused" for n in assignments if n in self.refuse}
        for name, keys in assignments.items():
            if name not in errors:
                self.pushed[name] = keys
                self.hashes[name] = keys.removeprefix("keys-of-")
        return {n: self.hashes[n] for n in assignments}, errors

    @staticmethod
    def now():
        return NOW

    def wake(self):
        self.woken += 1


def _run(shared):
    return audit.reconcile(Key("identity_audit", audit.KEY_ID), types.SimpleNamespace(
        shared=shared))


def test_a_drifted_node_is_repaired_from_one_holding_the_last_rotation_and_reported():
    store = FakeStore(expected="h1")
    shared = FakeShared({"a": "h1", "b": "h9", "c": None}, store)
    outcome = _run(shared)
    assert outcome.status == "done"
    assert outcome.result == {"repaired": ["b"], "rotation": None, "unreachable": ["c"]}
    assert shared.pushed == {"b": "keys-of-h1"}                # a's repository, to b only
    assert store.drifts == [("b", {"fernet_hash": "h9", "expected": "h1", "repaired": True})]
    assert shared.observed_calls == [["a", "b", "c"], ["b"]]  # b's hash recorded again
    assert shared.hashes["b"] == "h1"


def test_a_repair_the_agent_refuses_is_reported_unrepaired():
    store = FakeStore(expected="h1")
    shared = FakeShared({"a": "h1", "b": "h9"}, store, refuse={"b"})
    outcome = _run(shared)
    assert outcome.result["repaired"] == []
    assert store.drifts == [("b", {"fernet_hash": "h9", "expected": "h1", "repaired": False})]


def test_nothing_is_rewritten_when_no_node_holds_the_expected_keys():
    store = FakeStore(expected="h1")
    shared = FakeShared({"a": "h2", "b": "h3"}, store)
    assert _run(shared).result["repaired"] == []
    assert shared.pushed == {} and store.drifts == []


def test_a_running_rotation_is_requeued_and_nothing_else_is_done():
    store = FakeStore(expected="h1", active={"id": "rot-1"})
    shared = FakeShared({"a": "h1", "b": "h9"}, store, interval=60)
    outcome = _run(shared)
    assert outcome.result == {"rotation": "rot-1"}
    assert store.ensured == ["rot-1"]
    assert shared.pushed == {} and store.started == []        # the rotation owns the keys now


def test_a_rotation_starts_when_the_interval_has_passed():
    store = FakeStore(expected="h1", last_started=NOW - datetime.timedelta(hours=2))
    shared = FakeShared({"a": "h1", "b": "h1"}, store, interval=3600)
    outcome = _run(shared)
    assert outcome.result["rotation"] == "rot-fernet"
    assert store.started == [("schedule", "fernet")]
    assert shared.woken == 1


def test_credential_keys_rotate_on_their_own_interval():
    recent, old = NOW - datetime.timedelta(minutes=5), NOW - datetime.timedelta(days=2)
    store = FakeStore(expected="h1", last_started=recent, credential_started=old)
    shared = FakeShared({"a": "h1"}, store, interval=3600, credential_interval=86400)
    assert _run(shared).result["rotation"] == "rot-credential"
    assert store.started == [("schedule", "credential")]


def test_one_scheduled_rotation_at_a_time():
    store = FakeStore(expected="h1")  # neither ever rotated: both due
    shared = FakeShared({"a": "h1"}, store, interval=3600, credential_interval=3600)
    assert _run(shared).result["rotation"] == "rot-fernet"
    assert store.started == [("schedule", "fernet")]


def test_no_rotation_before_the_interval_or_when_disabled():
    recent = NOW - datetime.timedelta(minutes=5)
    for interval in (0, 3600):
        store = FakeStore(expected="h1", last_started=recent)
        assert _run(FakeShared({"a": "h1"}, store, interval=interval)).result["rotation"] is None
        assert store.started == []
