"""Flavor sync (admin only): every attribute, extra specs and, if private, the access list.

The target flavor keeps the source id, unless `force` replaces an existing flavor of the
same name, in which case Nova chooses a new id (Kingbird's behaviour).
"""

from multisite.clients import session as region_errors
from multisite.reconcilers import PermanentError

ATTRIBUTES = ("name", "ram", "vcpus", "disk", "ephemeral", "swap", "rxtx_factor", "is_public")

CREATE_SAME_ID = "create_same_id"
CREATE_NEW_ID = "create_new_id"


def same(desired, observed):
    return all(desired[key] == observed[key] for key in ATTRIBUTES)


def plan(desired, by_id, by_name, *, force, ours):
    """(deletes, create, conflict) for the target; no I/O.

    desired: the source flavor; by_id: the target flavor with the source id, or None;
    by_name: target flavors with the source name. `ours` means an earlier attempt of this
    row created the flavor of that name. create is None (keep the existing flavor),
    CREATE_SAME_ID or CREATE_NEW_ID.
    """
    existing = {f["id"]: f for f in by_name}
    if by_id is not None:
        existing.setdefault(by_id["id"], by_id)
    if not existing:
        return [], CREATE_SAME_ID, None
    if ours:
        matching = [f for f in by_name if same(desired, f)]
        if len(matching) == 1 and len(by_name) == 1:
            return [], None, None
    if not force and not ours:
        which = ", ".join(sorted(existing))
        return [], None, f"flavor {desired['name']} (id {which}) already exists in the target"
    # force (or our own half-made flavor): replace the same-named flavors; the source id
    # is reused only if no flavor keeps it.
    deletes = sorted(f["id"] for f in by_name)
    id_taken = by_id is not None and by_id["id"] not in deletes
    create = CREATE_NEW_ID if (force and by_name) or id_taken else CREATE_SAME_ID
    return deletes, create, None


def missing_specs(desired, observed):
    return {k: v for k, v in desired.items() if observed.get(k) != v}


def missing_access(desired, observed):
    return sorted(set(desired) - set(observed))


def _read_source(item, regions):
    source = regions.compute(item["source_region"])
    found = source.find_flavors(item["resource"])
    if not found:
        raise PermanentError(f"flavor {item['resource']} not found in {item['source_region']}")
    if len(found) > 1:
        raise PermanentError(f"{len(found)} flavors named {item['resource']} in "
                             f"{item['source_region']}")
    flavor = found[0]
    specs = source.get_extra_specs(flavor["id"])
    # Read fresh for every row: an access list never leaks from one row to the next.
    access = [] if flavor["is_public"] else source.get_flavor_access(flavor["id"])
    return flavor, specs, access


def apply(item, regions, record_target, *, exact_access=False):
    """Converge the target flavor; `exact_access` (policies) also revokes the projects
    the source's access list does not have (a one-shot job only grants)."""
    desired, specs, access = _read_source(item, regions)
    target = regions.compute(item["target_region"])
    by_name = target.find_flavors(desired["name"])
    try:
        by_id = target.get_flavor(desired["id"])
    except region_errors.NotFound:
        by_id = None
    deletes, create, conflict = plan(desired, by_id, by_name, force=item["force"],
                                     ours=item.get("target_id") == desired["name"])
    if conflict:
        raise PermanentError(conflict)
    for flavor_id in deletes:
        try:
            target.delete_flavor(flavor_id)
        except region_errors.NotFound:
            pass
    if create is None:
        flavor = by_name[0]
    else:
        record_target(desired["name"])
        wanted = dict(desired, id=desired["id"] if create == CREATE_SAME_ID else None)
        try:
            flavor = target.create_flavor(wanted)
        except region_errors.Conflict as exc:
            raise PermanentError(f"flavor {desired['name']} conflicts in the target: "
                                 f"{exc}") from exc
    todo = missing_specs(specs, target.get_extra_specs(flavor["id"]) if specs else {})
    if todo:
        target.set_extra_specs(flavor["id"], todo)
    if not desired["is_public"]:
        granted = target.get_flavor_access(flavor["id"])
        for project_id in missing_access(access, granted):
            try:
                target.add_flavor_access(flavor["id"], project_id)
            except region_errors.Conflict:
                pass  # granted meanwhile
        for project_id in missing_access(granted, access) if exact_access else ():
            try:
                target.remove_flavor_access(flavor["id"], project_id)
            except region_errors.NotFound:
                pass  # revoked meanwhile
    return flavor["id"]


def check_source(regions, *, region, resource, user_id, project_id):
    """(visible, None): is there a flavor named (or with the id) `resource` in the source?"""
    try:
        return bool(regions.compute(region).find_flavors(resource)), None
    except (region_errors.NotFound, region_errors.BadRequest):
        return False, None
