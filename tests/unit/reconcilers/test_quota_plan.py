"""Balancing policies as parametrized matrices (pure functions, no I/O)."""

import pytest

from multisite.reconcilers import quota

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"


def _cur(value, *regions, name="volumes"):
    return {r: {name: value} for r in regions}


# (L, usage per region, current limit in every region) -> expected new limits
KINGBIRD = [
    # Kingbird's own example: L=10, usage 3 and 2 -> 8 and 7 (third region 5)
    (10, {R1: 3, R2: 2, R3: 0}, 99, {R1: 8, R2: 7, R3: 5}),
    # at the limit: every region frozen at its usage
    (5, {R1: 3, R2: 2, R3: 0}, 99, {R1: 3, R2: 2, R3: 0}),
    # over the limit: still usage (max(L-T,0) = 0), zeros written
    (4, {R1: 3, R2: 2, R3: 0}, 99, {R1: 3, R2: 2, R3: 0}),
    # zero limit, no usage: zeros are written (Kingbird skipped them)
    (0, {R1: 0, R2: 0, R3: 0}, 10, {R1: 0, R2: 0, R3: 0}),
    # unlimited is pushed as -1
    (-1, {R1: 3, R2: 2, R3: 0}, 10, {R1: -1, R2: -1, R3: -1}),
    # no usage: every region may use the whole limit
    (7, {}, 0, {R1: 7, R2: 7, R3: 7}),
]

STRICT = [
    # headroom 5 divided 2/2/1; the extra unit goes to the busiest region
    (10, {R1: 3, R2: 2, R3: 0}, 99, {R1: 5, R2: 4, R3: 1}),
    (10, {R1: 0, R2: 0, R3: 0}, 99, {R1: 4, R2: 3, R3: 3}),
    (9, {R1: 0, R2: 0, R3: 0}, 99, {R1: 3, R2: 3, R3: 3}),
    (5, {R1: 3, R2: 2, R3: 0}, 99, {R1: 3, R2: 2, R3: 0}),
    (4, {R1: 3, R2: 2, R3: 0}, 99, {R1: 3, R2: 2, R3: 0}),
    (0, {}, 10, {R1: 0, R2: 0, R3: 0}),
    (-1, {R1: 3}, 10, {R1: -1, R2: -1, R3: -1}),
    (1, {}, 5, {R1: 1, R2: 0, R3: 0}),
]


def _usage(per_region, name="volumes"):
    return {r: {name: u} for r, u in per_region.items()}


MATRIX = ([(quota.KINGBIRD, *case) for case in KINGBIRD]
          + [(quota.STRICT, *case) for case in STRICT])


@pytest.mark.parametrize("policy,limit,usage,current,expected", MATRIX)
def test_policy_matrix(policy, limit, usage, current, expected):
    changes = quota.plan({"volumes": limit}, _usage(usage), _cur(current, R1, R2, R3),
                         policy)
    got = {r: changes.get(r, {}).get("volumes", current) for r in (R1, R2, R3)}
    assert got == expected
    if policy == quota.STRICT and limit >= sum(usage.values()):
        assert sum(got.values()) <= limit


@pytest.mark.parametrize("policy", quota.POLICIES)
@pytest.mark.parametrize("limit", [0, 1, 2, 7, 10, 31, 100])
@pytest.mark.parametrize("usage", [(0, 0, 0), (1, 0, 0), (3, 2, 1), (10, 0, 5), (40, 40, 40)])
def test_invariants(policy, limit, usage):
    per_region = dict(zip((R1, R2, R3), usage, strict=True))
    changes = quota.plan({"port": limit}, _usage(per_region, "port"),
                         _cur(-5, R1, R2, R3, name="port"), policy)
    got = {r: changes[r]["port"] for r in (R1, R2, R3)}
    for region, used in per_region.items():
        assert got[region] >= used, "a region limit never falls below its usage"
    if policy == quota.STRICT and limit >= sum(usage):
        assert sum(got.values()) == limit, "strict hands out exactly the global limit"
    if policy == quota.KINGBIRD:
        assert got == {r: max(limit - sum(usage), 0) + u for r, u in per_region.items()}


def test_only_changes_are_planned():
    usage = _usage({R1: 3, R2: 2})
    current = {R1: {"volumes": 8}, R2: {"volumes": 9}}
    assert quota.plan({"volumes": 10}, usage, current) == {R2: {"volumes": 7}}
    current = {R1: {"volumes": 8}, R2: {"volumes": 7}}
    assert quota.plan({"volumes": 10}, usage, current) == {}


def test_per_item_resources_get_the_global_value():
    current = {R1: {"metadata_items": 128, "key_pairs": 100},
               R2: {"metadata_items": 10, "key_pairs": 7}}
    for policy in quota.POLICIES:
        changes = quota.plan({"metadata_items": 50, "key_pairs": 100}, {}, current, policy)
        assert changes == {R1: {"metadata_items": 50},
                           R2: {"metadata_items": 50, "key_pairs": 100}}


def test_resource_missing_in_a_region_is_not_planned_there():
    current = {R1: {"volumes": 1, "network": 1}, R2: {"network": 1}}  # R2: no cinder
    changes = quota.plan({"volumes": 10, "network": 10}, {}, current)
    assert changes == {R1: {"volumes": 10, "network": 10}, R2: {"network": 10}}


def test_unreachable_region_usage_counts_but_is_not_written():
    usage = _usage({R1: 1, R2: 4})          # R2's usage is the last known one
    changes = quota.plan({"volumes": 10}, usage, {R1: {"volumes": 0}})
    assert changes == {R1: {"volumes": 6}}  # max(10 - 5, 0) + 1


def test_strict_keeps_unreachable_region_allocation():
    usage = _usage({R1: 1, R2: 2, R3: 0})
    fixed = {R2: {"volumes": 6}}            # R2 was given 6 before it went away
    changes = quota.plan({"volumes": 10}, usage, _cur(0, R1, R3), quota.STRICT,
                         fixed_by_region=fixed)
    got = {r: changes[r]["volumes"] for r in (R1, R3)}
    assert got == {R1: 3, R3: 1}            # headroom 10 - 1 - 6 = 3 -> 2 + 1
    assert sum(got.values()) + 6 == 10


def test_strict_remainder_is_deterministic():
    usage = _usage({R1: 0, R2: 0, R3: 0})
    first = quota.plan({"volumes": 11}, usage, _cur(0, R3, R1, R2), quota.STRICT)
    again = quota.plan({"volumes": 11}, usage, _cur(0, R2, R3, R1), quota.STRICT)
    # ties by name: RegionOne, RegionThree, RegionTwo
    assert first == again == {R1: {"volumes": 4}, R3: {"volumes": 4}, R2: {"volumes": 3}}


def test_unknown_policy():
    with pytest.raises(ValueError):
        quota.plan({}, {}, {}, "generous")


@pytest.mark.parametrize("failures,expected", [(0, 0), (1, 30), (2, 60), (3, 120), (6, 900),
                                               (60, 900)])
def test_backoff_is_exponential_and_capped(failures, expected):
    assert quota.backoff(failures, base=30, cap=900) == expected


def test_total_usage_fills_zeros_and_ignores_unknown_keys():
    total = quota.total_usage({R1: {"port": 2, "bogus": 9}, R2: {"port": 3}},
                              ["port", "volumes"])
    assert total == {"port": 5, "volumes": 0}
