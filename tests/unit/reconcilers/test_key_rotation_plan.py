"""The rotation planner: Keystone's protocol, two phases, blocking nodes (pure, no I/O)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multisite.keyagent import repository
from multisite.reconcilers import key_rotation as kr

NAMES = iter(f"key-{i:03d}" for i in itertools.count())


def keys(*indexes):
    return {i: next(NAMES) for i in indexes}


@pytest.mark.parametrize("base_indexes, staged_index, shifted", [
    ((0, 1), 1, True),            # fresh fernet_setup: no room below the primary
    ((0, 1, 2), 1, True),
    ((0, 3, 5), 1, False),        # after pruning: a free index below the primary
    ((0, 1, 4), 2, False),
    ((0, 7), 1, False),
])
def test_stage_keeps_the_primary_and_adds_the_key_as_secondary(base_indexes, staged_index,
                                                               shifted):
    base = keys(*base_indexes)
    staged = kr.stage(base, "K")
    assert staged[kr.primary(staged)] == base[kr.primary(base)]  # same primary key
    assert staged[0] == base[0]                                    # same staged key
    assert staged[staged_index] == "K"
    assert set(staged.values()) == set(base.values()) | {"K"}
    assert (set(staged) != set(base) | {staged_index}) == shifted


@pytest.mark.parametrize("max_active, base_indexes, final_indexes", [
    (3, (0, 1), (0, 2, 3)),          # staged shifted to (0, 1=K, 2=P): S -> 3
    (3, (0, 1, 2), (0, 3, 4)),       # shifted to (0, 1=K, 2, 3=P)
    (3, (0, 5, 6), (0, 6, 7)),
    (4, (0, 5, 6), (0, 5, 6, 7)),
    (5, (0, 1), (0, 2, 3)),
    (3, (0, 1, 2, 3, 4), (0, 5, 6)),  # over the limit: the lowest secondaries go
])
def test_promote_follows_keystone(max_active, base_indexes, final_indexes):
    base = keys(*base_indexes)
    target = kr.prepare(base, "K", max_active)
    final = target.final
    assert sorted(final) == sorted(final_indexes)
    assert final[0] == "K"                                      # new staged key
    assert final[kr.primary(final)] == base[0]                  # old staged is the primary
    assert base[kr.primary(base)] in final.values()             # old primary still decrypts
    assert len(final) <= max_active


def test_promote_refuses_too_few_active_keys():
    with pytest.raises(ValueError):
        kr.promote(keys(0, 1, 2), "x", 2)


def test_five_rotations_keep_an_old_token_while_max_active_keys_allows():
    repo = keys(0, 1)
    first_primary = repo[1]
    for n in range(5):
        repo = kr.prepare(repo, f"K{n}", 7).final
        assert first_primary in repo.values()
    assert len(repo) == 7


@pytest.mark.parametrize("max_active, rotations_valid", [(3, 1), (4, 2), (6, 4)])
def test_a_primary_survives_max_active_minus_two_rotations(max_active, rotations_valid):
    repo = keys(0, 1)
    issued_with = repo[1]
    for n in range(rotations_valid):
        repo = kr.prepare(repo, f"K{n}", max_active).final
        assert issued_with in repo.values()
    repo = kr.prepare(repo, "last", max_active).final
    assert issued_with not in repo.values()


def _decrypts(issuer, validator):
    return issuer[kr.primary(issuer)] in validator.values()


@settings(max_examples=200, deadline=None)
@given(base_indexes=st.sets(st.integers(1, 12), min_size=1, max_size=6),
       max_active=st.integers(3, 8), rotations=st.integers(1, 4),
       states=st.lists(st.sampled_from(["prev", "staged", "final"]), min_size=2, max_size=5))
def test_any_mix_of_node_states_validates_every_token(base_indexes, max_active, rotations,
                                                      states):
    """Nodes part-way through a rotation (some on the base, some on D, some on F) accept
    each other's tokens, rotation after rotation."""
    repo = keys(0, *base_indexes)
    for n in range(rotations):
        target = kr.prepare(repo, f"R{n}", max_active)
        by_state = {"prev": repo, "staged": target.staged, "final": target.final}
        # a node can be on the base only while nobody has F (promotion waits for all D)
        mix = [s for s in states if not ("final" in states and s == "prev")]
        for a, b in itertools.product(mix, repeat=2):
            assert _decrypts(by_state[a], by_state[b]), (a, b)
        repo = target.final


H = {"S": "hash-staged", "F": "hash-final", "old": "hash-old", "x": "hash-other"}


def _plan(phase, observed):
    return kr.plan(phase, nodes=list(observed), observed={n: H.get(v) for n, v in
                                                          observed.items()},
                   staged_hash=H["S"], final_hash=H["F"])


@pytest.mark.parametrize("phase, observed, expected_phase, push, waiting", [
    # distribute: push D to whoever lacks it; never promote while one node is missing
    ("distribute", {"a": "old", "b": "old"}, "distribute", {"a": "staged", "b": "staged"}, ()),
    ("distribute", {"a": "S", "b": "old"}, "distribute", {"b": "staged"}, ()),
    ("distribute", {"a": "S", "b": None}, "distribute", {}, ("b",)),
    ("distribute", {"a": "old", "b": None}, "distribute", {"a": "staged"}, ("b",)),
    ("distribute", {"a": "x", "b": "S"}, "distribute", {"a": "staged"}, ()),   # drift repaired
    # all confirmed D: promote at once
    ("distribute", {"a": "S", "b": "S"}, "promote", {"a": "final", "b": "final"}, ()),
    ("distribute", {"a": "F", "b": "S"}, "promote", {"b": "final"}, ()),       # resumed
    ("promote", {"a": "S", "b": "F"}, "promote", {"a": "final"}, ()),
    ("promote", {"a": "F", "b": None}, "promote", {}, ("b",)),
    ("promote", {"a": None, "b": None}, "promote", {}, ("a", "b")),
    ("promote", {"a": "F", "b": "F"}, "verify", {}, ()),
    ("distribute", {"a": "F", "b": "F"}, "verify", {}, ()),                    # crash after all
    ("verify", {"a": "F", "b": None}, "verify", {}, ()),
    ("done", {"a": "x"}, "done", {}, ()),
])
def test_plan_matrix(phase, observed, expected_phase, push, waiting):
    step = _plan(phase, observed)
    assert (step.phase, step.push, step.waiting) == (expected_phase, push, waiting)


def test_plan_is_idempotent_after_applying_its_pushes():
    observed = {"a": "old", "b": "old", "c": None}
    for _ in range(3):
        step = _plan("distribute", observed)
        observed.update({n: {"staged": "S", "final": "F"}[w] for n, w in step.push.items()})
    assert step.phase == "distribute" and step.waiting == ("c",) and not step.push
    observed["c"] = "old"
    phase = "distribute"
    for _ in range(4):
        step = _plan(phase, observed)
        phase = step.phase
        observed.update({n: {"staged": "S", "final": "F"}[w] for n, w in step.push.items()})
    assert phase == "verify" and set(observed.values()) == {"F"}


@pytest.mark.parametrize("nodes, observed, expected, chosen", [
    (["a", "b"], {"a": "h1", "b": "h1"}, "h1", "a"),
    (["a", "b"], {"a": None, "b": "h1"}, "h1", "b"),       # reference down, other has it
    (["a", "b"], {"a": "h2", "b": "h1"}, "h1", "b"),
    (["a", "b"], {"a": "h2", "b": "h3"}, None, "a"),       # adoption: the reference
    (["a", "b"], {"a": "h2", "b": "h3"}, "h1", "a"),       # nobody has it: the reference
    (["a", "b"], {"a": None, "b": "h3"}, None, None),      # reference down: wait
])
def test_choose_base(nodes, observed, expected, chosen):
    node, reason = kr.choose_base(nodes, observed, expected)
    assert node == chosen and (reason is None) == (chosen is not None)


def test_target_hashes_match_the_agents():
    target = kr.prepare({0: repository.new_key(), 1: repository.new_key()},
                        repository.new_key(), 3)
    assert target.staged_hash == repository.digest(target.staged)
    assert target.final_hash == repository.digest(target.final) != target.staged_hash
    repository.parse({str(i): k for i, k in target.final.items()})  # well formed


def test_verification_failures():
    assert kr.verification_failures({"a->b": 200, "b->a": 404, "a->a": 200}) == ["b->a"]
