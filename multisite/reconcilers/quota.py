"""Quota balancing: pure decisions of each region's limits from a global limit.

Nothing here does I/O. The engine reads usage and current limits from the regions,
calls `plan()`, and writes what it returns (only the values that change).
"""

from multisite import reconcilers
from multisite.clients import resources

KINGBIRD = "kingbird"
STRICT = "strict"
POLICIES = (KINGBIRD, STRICT)

UNLIMITED = -1


def total_usage(usage_by_region, names):
    """{resource: sum over regions}, every name present (0 when nobody uses it)."""
    total = dict.fromkeys(names, 0)
    for usage in usage_by_region.values():
        for name, used in usage.items():
            if name in total:
                total[name] += max(int(used), 0)
    return total


def plan(global_limits, usage_by_region, current_by_region, policy=KINGBIRD, *,
         fixed_by_region=None):
    """{region: {resource: new_limit}} holding only the limits that must change.

    global_limits: {resource: L}, the project's effective global limits (-1 unlimited).
    usage_by_region: {region: {resource: used}} for every region the project has,
        fresh or last known; a missing resource counts as 0.
    current_by_region: {region: {resource: limit}} for the regions that can be written
        now; a resource a region does not list (service absent, nova-network keys on a
        Neutron cloud) is never planned there.
    fixed_by_region: {region: {resource: limit}} last known limits of regions that
        cannot be written now (strict policy only: their allocation is kept).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown quota policy {policy!r}")
    fixed_by_region = fixed_by_region or {}
    totals = total_usage(usage_by_region, global_limits)
    changes = {}
    for name, limit in global_limits.items():
        writable = sorted(r for r, cur in current_by_region.items() if name in cur)
        if not writable:
            continue
        if limit is None or limit < 0:
            targets = dict.fromkeys(writable, UNLIMITED)
        elif name in resources.PER_ITEM:
            # Not a project total (per instance, per user): each region gets L itself.
            targets = dict.fromkeys(writable, limit)
        elif policy == KINGBIRD:
            targets = _kingbird(limit, totals[name], usage_by_region, name, writable)
        else:
            targets = _strict(limit, usage_by_region, fixed_by_region, name, writable)
        for region, value in targets.items():
            if current_by_region[region].get(name) != value:
                changes.setdefault(region, {})[name] = value
    return changes


def _used(usage_by_region, region, name):
    return max(int(usage_by_region.get(region, {}).get(name, 0)), 0)


def _kingbird(limit, total, usage_by_region, name, writable):
    """new_i = max(L - T, 0) + U_i: every region may take the whole headroom."""
    headroom = max(limit - total, 0)
    return {r: headroom + _used(usage_by_region, r, name) for r in writable}


def _strict(limit, usage_by_region, fixed_by_region, name, writable):
    """Sum of region limits <= L: the headroom is divided, not granted to each region."""
    committed = sum(_used(usage_by_region, r, name) for r in writable)
    for region, limits in fixed_by_region.items():
        if region in writable:
            continue
        used = _used(usage_by_region, region, name)
        known = limits.get(name) if limits else None
        # An unreachable region keeps what it was given (at least what it uses).
        committed += max(known, used) if known is not None and known >= 0 else used
    for region in usage_by_region:
        if region not in writable and region not in fixed_by_region:
            committed += _used(usage_by_region, region, name)
    headroom = max(limit - committed, 0)
    share, extra = divmod(headroom, len(writable))
    # The remainder goes to the busiest regions first, ties by name: deterministic.
    order = sorted(writable, key=lambda r: (-_used(usage_by_region, r, name), r))
    bonus = set(order[:extra])
    return {r: _used(usage_by_region, r, name) + share + (1 if r in bonus else 0)
            for r in writable}


def backoff(failures, *, base, cap):
    """Seconds before retrying a region that failed `failures` times in a row (no jitter:
    the wait is stored in the region's status and shown to the user)."""
    return reconcilers.backoff(failures, base=base, cap=cap)
