"""Keypair sync: name, public key and key type, in the target, for the job's user.

Nova (microversion >= 2.10) lets an admin read and create the keypair of another user,
so the engine works with its service credentials and never needs the user's token.

A row tries the create first (one call on the common path: the target has no such
keypair) and reads the target only when Nova answers 409.
"""

from multisite.clients import session as region_errors
from multisite.reconcilers import PermanentError, TemporaryError

CREATE = "create"
DELETE = "delete"


def same(desired, observed):
    return (desired["public_key"].strip() == observed["public_key"].strip()
            and desired.get("type", "ssh") == observed.get("type", "ssh"))


def plan(desired, observed, *, force, ours):
    """The actions that make the target hold `desired`; no I/O.

    `ours` means an earlier attempt of this very row may have created the target keypair
    (the row was claimed before), so an *identical* one counts as this row's work rather
    than a pre-existing conflict. A different one is never deleted without `force`: the
    earlier attempt may have died before creating anything, and the keypair may be the
    user's own.
    Returns (actions, conflict): conflict is a reason when nothing may be done.
    """
    if observed is None:
        return [CREATE], None
    if ours and same(desired, observed):
        return [], None
    if force:
        return [DELETE, CREATE], None
    return [], f"keypair {desired['name']} already exists in the target region"


def _desired(item, regions):
    """The source keypair: the snapshot validation read for this job, else a fresh read."""
    snapshot = item.get("source_snapshot")
    if snapshot is not None:
        return snapshot
    name = item["resource"]
    try:
        return regions.compute(item["source_region"]).get_keypair(
            name, user_id=item["user_id"])
    except region_errors.NotFound as exc:
        raise PermanentError(f"keypair {name} not found in {item['source_region']}") from exc


def _create(target, desired, name, user_id):
    target.create_keypair(name=name, public_key=desired["public_key"],
                          key_type=desired.get("type", "ssh"), user_id=user_id)


def apply(item, regions, record_target=None):
    """Converge one row; raises PermanentError, or RegionError for the engine to map."""
    name, user_id = item["resource"], item["user_id"]
    desired = _desired(item, regions)
    target = regions.compute(item["target_region"])
    try:
        _create(target, desired, name, user_id)
        return name
    except region_errors.Conflict:
        pass
    try:
        observed = target.get_keypair(name, user_id=user_id)
    except region_errors.NotFound:
        observed = None  # deleted since the 409: plan a create again
    ours = item.get("attempts", 1) > 1 or item.get("target_id") == name
    actions, conflict = plan(desired, observed, force=item["force"], ours=ours)
    if conflict:
        raise PermanentError(conflict)
    for action in actions:
        if action == DELETE:
            try:
                target.delete_keypair(name, user_id=user_id)
            except region_errors.NotFound:
                pass
        elif action == CREATE:
            try:
                _create(target, desired, name, user_id)
            except region_errors.Conflict as exc:
                # another writer (re-)created it between our calls: plan again later
                raise TemporaryError(f"keypair {name} re-created concurrently") from exc
    return name


def check_source(regions, *, region, resource, user_id, project_id):
    """(visible, snapshot): does the job's user have keypair `resource` in the source?

    The keypair read is the snapshot the job's rows copy (SourceSnapshots).
    """
    try:
        return True, regions.compute(region).get_keypair(resource, user_id=user_id)
    except (region_errors.NotFound, region_errors.BadRequest):
        return False, None
