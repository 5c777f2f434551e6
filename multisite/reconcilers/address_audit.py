"""The address audit kind: one key ("all" regions) reconciled once per audit period.

The work is the engine's AddressAuditor (env.shared): list every region's addresses,
converge the index on them, recompute the conflicts (reconcilers.addresses.plan).
"""

from multisite import reconcilers

KIND = "address_audit"
KEY = reconcilers.Key(KIND, "all", None)


def keys(_env):
    return [KEY]


def reconcile(key, env):
    result = env.shared.run()
    if result.regions_failed and not result.regions_ok:
        raise reconcilers.TemporaryError(
            f"no region answered the address audit: {sorted(result.regions_failed)}")
    return reconcilers.Outcome.done(result.as_dict())
