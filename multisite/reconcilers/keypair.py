"""Keypair sync: name, public key and key type, in the target, for the job's user.

Nova (microversion >= 2.10) lets an admin read and create the keypair of another user,
so the engine works with its service credentials and never needs the user's token.
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

    `ours` means an earlier attempt of this very row was about to create the target
    keypair, so a matching one is this row's work, not a pre-existing conflict.
    Returns (actions, conflict): conflict is a reason when nothing may be done.
    """
    if observed is None:
        return [CREATE], None
    if ours and same(desired, observed):
        return [], None
    if force or ours:
        return [DELETE, CREATE], None
    return [], f"keypair {desired['name']} already exists in the target region"


def apply(item, regions, record_target):
    """Converge one row; raises PermanentError, or RegionError for the engine to map."""
    name, user_id = item["resource"], item["user_id"]
    try:
        desired = regions.compute(item["source_region"]).get_keypair(name, user_id=user_id)
    except region_errors.NotFound as exc:
        raise PermanentError(f"keypair {name} not found in {item['source_region']}") from exc
    target = regions.compute(item["target_region"])
    try:
        observed = target.get_keypair(name, user_id=user_id)
    except region_errors.NotFound:
        observed = None
    actions, conflict = plan(desired, observed, force=item["force"],
                             ours=item.get("target_id") == name)
    if conflict:
        raise PermanentError(conflict)
    for action in actions:
        if action == DELETE:
            try:
                target.delete_keypair(name, user_id=user_id)
            except region_errors.NotFound:
                pass
        elif action == CREATE:
            record_target(name)
            try:
                target.create_keypair(name=name, public_key=desired["public_key"],
                                      key_type=desired.get("type", "ssh"), user_id=user_id)
            except region_errors.Conflict as exc:
                if item["force"]:  # another writer re-created it meanwhile: plan again
                    raise TemporaryError(f"keypair {name} re-created concurrently") from exc
                raise PermanentError(f"keypair {name} already exists in the target "
                                     f"region: {exc}") from exc
    return name
