"""The address audit kind: one key ("all" regions) reconciled once per audit period, and
one key per region woken by that region's notifications.

The work is the engine's AddressAuditor (env.shared): list the regions' addresses,
converge the index on them, recompute the conflicts (reconcilers.addresses.plan). A
region key re-reads that region only and keeps the others' index as stored, so a port
created in RegionTwo shows in /v2/addresses and /v2/address-conflicts seconds later,
without waiting for the next full audit. A burst of events for one region is one
reconcile (the queue de-duplicates keys).
"""

from multisite import reconcilers

KIND = "address_audit"
KEY = reconcilers.Key(KIND, "all", None)

# Notifications whose resource holds addresses: ports (fixed IPs, MACs, address pairs),
# floating IPs, subnets (CIDRs, pools), routers (external gateway IPs), networks (a
# network deleted with its subnets). `.end` events only: the change has happened.
ADDRESS_EVENTS = ("port.", "floatingip.", "subnet.", "router.", "network.")


def keys(_env):
    return [KEY]


def key_for(event_type, region):
    """The key a notification wakes (its region's), or None if it holds no address."""
    if not region or not event_type or not event_type.endswith(".end"):
        return None
    if not event_type.startswith(ADDRESS_EVENTS):
        return None
    return reconcilers.Key(KIND, region, region)


def reconcile(key, env):
    if key.id == KEY.id:
        result = env.shared.run()
    else:
        result = env.shared.run(regions=[key.id])
    if result.regions_failed and not result.regions_ok:
        raise reconcilers.TemporaryError(
            f"no region answered the address audit: {sorted(result.regions_failed)}")
    return reconcilers.Outcome.done(result.as_dict())
