"""Image distribution (docs/images.md): three kinds over the one engine mechanism.

- `image_copy` (durable): one image into one region, streamed and verified with the os-sync
  copy (reconcilers/image.py); the copy keeps the source id, so a retry, a second engine
  or a resumed crash finds the copy it started instead of making another.
- `image_distribution` (periodic per project, and woken by image.* notifications): the
  audit of `auto` images; it records copies (objects/images.ensure_copy) and repairs
  properties, and mirrors each image's mode in the `multisite_distribution` property.
- `image_rollout` (durable): a controlled rollout, wave after wave, verified, with rollback.

The decisions are pure functions (`plan_audit`, `plan_wave`, `property_ops`); the reconcile
functions read, call `plan_*`, and apply, each step idempotent.
"""

import contextlib
import datetime
import logging
import time
import uuid

from multisite.clients import errors as client_errors
from multisite.clients import session as region_errors
from multisite.objects import images as store
from multisite.reconcilers import Outcome, TemporaryError
from multisite.reconcilers import image as image_copy

LOG = logging.getLogger(__name__)

COPY_KIND = store.COPY_KIND
AUDIT_KIND = "image_distribution"
ROLLOUT_KIND = store.ROLLOUT_KIND
PROPERTY = "multisite_distribution"

# Attributes never patched on a copy: computed by Glance, fixed once data is uploaded, or
# owned by rollouts (os_hidden).
FIXED = image_copy.READ_ONLY | {"disk_format", "container_format", "os_hidden"}


def _now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


# -- pure decisions ----------------------------------------------------------------------------
def effective(dists, image_id):
    """The distribution that applies to an image: its override, else the project default."""
    return dists.get(image_id) or dists.get(None)


def targets_of(dist, known):
    regions = dist["targets"] if dist["targets"] is not None else sorted(known)
    return [r for r in regions if r != dist["source"]]


def _patchable(key):
    return key not in FIXED and not key.startswith("os_glance")


def property_ops(source, target):
    """JSON-patch operations that make `target`'s record equal to `source`'s."""
    ops = []
    for key, value in sorted(source.items()):
        if not _patchable(key) or value is None:
            continue
        if key not in target:
            ops.append({"op": "add", "path": f"/{key}", "value": value})
        elif target[key] != value:
            ops.append({"op": "replace", "path": f"/{key}", "value": value})
    for key in sorted(target):
        if _patchable(key) and key not in source and not key.startswith("os_") \
                and target[key] is not None:
            ops.append({"op": "remove", "path": f"/{key}"})
    return ops


def member_ops(source, target):
    """Calls that make a copy's members equal to the source image's; no I/O.

    source, target: {member project id: status}. Calls: ("add", project) (Glance adds a
    member as pending), ("status", project, status), ("remove", project).
    """
    ops = []
    for member, status in sorted(source.items()):
        if member not in target:
            ops.append(("add", member))
            if status != "pending":
                ops.append(("status", member, status))
        elif target[member] != status:
            ops.append(("status", member, status))
    ops += [("remove", member) for member in sorted(set(target) - set(source))]
    return ops


def plan_audit(dists, sources, copies, observed, known):
    """The actions of one audit of a project; no I/O.

    dists: {image id or None: distribution}; sources: {region: [images] or None (that
    region could not be listed)}; copies: {(image id, region): copy row}; observed:
    {region: {image id: image} or None (unreachable)}; known: the catalog's regions.
    Actions: ("mirror", region, image id, mode), ("copy", image, region),
    ("restart", copy) (failed, or gone/changed in its region), ("update", region,
    image id, ops), ("members", source region, image, region, copy id) (a shared image:
    its members and their status are compared and repaired), ("delete", copy) (the source
    image is gone, propagate_deletes).
    Members are checked for every active copy of a shared image, whatever made it (auto,
    a lazy ensure, a rollout): `sources` also holds the source regions of those copies.
    An unreachable region is skipped, never taken for an empty one.
    """
    actions, seen, covered = [], set(), set()
    for region, found in sorted(sources.items()):
        if found is None:
            continue
        for image in found:
            dist = effective(dists, image["id"])
            if dist is None or dist["source"] != region:
                continue
            seen.add(image["id"])
            if image.get(PROPERTY) != dist["mode"]:
                actions.append(("mirror", region, image["id"], dist["mode"]))
            if dist["mode"] != "auto" or image.get("status") != "active":
                continue
            for target in targets_of(dist, known):
                there = observed.get(target)
                if there is None:
                    continue
                copy = copies.get((image["id"], target))
                current = there.get((copy or {}).get("target_id") or image["id"])
                if copy is None:
                    actions.append(("copy", image, target))
                elif copy["state"] == store.FAILED:
                    actions.append(("restart", copy))
                elif copy["state"] == store.ACTIVE:
                    if current is None or not image_copy.matches(image, current):
                        actions.append(("restart", copy))
                    else:
                        ops = property_ops(dict(image, **{PROPERTY: dist["mode"]}), current)
                        if ops:
                            actions.append(("update", target, image["id"], ops))
                        if image.get("visibility") == "shared":
                            covered.add((image["id"], target))
                            actions.append(("members", region, image, target,
                                            current["id"]))
    actions += _member_checks(sources, copies, observed, covered)
    for (image_id, _region), copy in sorted(copies.items()):
        if image_id in seen or copy["origin"] != "auto" or sources.get(copy["source"]) is None:
            continue
        dist = effective(dists, image_id)
        if dist is not None and dist["propagate_deletes"]:
            actions.append(("delete", copy))
    return actions


def _member_checks(sources, copies, observed, covered):
    """("members", ...) for the active copies the auto part of the plan did not cover: lazy
    and rollout copies, and copies of images no longer in auto mode."""
    images = {(region, i["id"]): i for region, found in sources.items() if found
              for i in found}
    actions = []
    for (image_id, region), copy in sorted(copies.items()):
        if copy["state"] != store.ACTIVE or (image_id, region) in covered:
            continue
        if region in observed and observed[region] is None:
            continue                                   # unreachable in this audit
        image = images.get((copy["source"], image_id))
        if image is None or image.get("visibility") != "shared" \
                or image.get("status") != "active":
            continue
        actions.append(("members", copy["source"], image, region,
                        copy["target_id"] or image_id))
    return actions


def plan_wave(regions, copies):
    """(per-region action, failure or None) for the current wave of a rollout; no I/O.

    regions: {region: its rollout state}; copies: {region: copy row or None}. Actions:
    "copy" (start it), "wait", "boot" (copied; the region's boot check has not passed
    yet), "switch" (verified: make the new image the visible one), "done" (already
    switched).
    """
    actions = {}
    for region, state in sorted(regions.items()):
        if state["state"] == "switched":
            actions[region] = "done"
            continue
        copy = copies.get(region)
        if copy is None or (copy["state"] == store.FAILED and state["state"] == "pending"):
            actions[region] = "copy"        # (a failure left by an earlier run: again)
        elif copy["state"] == store.FAILED:
            return actions, f"{region}: {copy['reason'] or 'copy failed'}"
        elif copy["state"] == store.ACTIVE:
            boot = state.get("boot")
            actions[region] = "boot" if boot and boot["state"] != "passed" else "switch"
        else:
            actions[region] = "wait"
    return actions, None


def plan_boot(check, servers, elapsed):
    """The next step of a region's boot check; no I/O.

    check: the region's "boot" state; servers: {id: status} of the servers under the
    check's name; elapsed: seconds since the check started (None: not started).
    Returns (step, server ids): "create", "wait", "passed" or "failed" (the servers are
    deleted on both), "timeout" (failed: not ACTIVE within the check's timeout).
    """
    ids = sorted(servers)
    if any(status == "ACTIVE" for status in servers.values()):
        return "passed", ids
    if any(status == "ERROR" for status in servers.values()):
        return "failed", ids
    if elapsed is not None and elapsed > check["timeout"]:
        return "timeout", ids
    if servers:
        return "wait", ids
    return "create", []


# -- image_copy ---------------------------------------------------------------------------------
def _corrupted(chunks):
    """Test hook (env.corrupt): flips the first byte passed on, so the copy fails
    verification the way a truncated or damaged upload would."""
    first = True
    for chunk in chunks:
        if first and chunk:
            first, chunk = False, bytes([chunk[0] ^ 0xFF]) + chunk[1:]
        yield chunk


def _stream(spools, source_client, target, source, image_id, *, corrupt):
    """Upload the source's data into `image_id`: read through the engine's spools, so the
    copies of one image running at once share one read (and one hash) of the source
    (image_fanout)."""
    with spools.download(source_client, source) as reader:
        counted = image_copy.HashingChunks(reader, hashed=False)
        target.upload(image_id, _corrupted(counted) if corrupt else counted,
                      size=source.get("size"))
        checksum = reader.checksum
    if source.get("checksum") and checksum != source["checksum"]:
        raise TemporaryError(f"data of image {source['id']} read from the source does not "
                             f"match its checksum ({checksum} vs {source['checksum']})")
    if source.get("size") is not None and counted.size != source["size"]:
        raise TemporaryError(f"sent {counted.size} bytes of image {source['id']}, "
                             f"expected {source['size']}")


def _fail(conf, copy, reason):
    store.update_copy(conf, copy["id"], state=store.FAILED, reason=reason[:2000])
    LOG.warning("Image copy failed: image=%s region=%s reason=%s", copy["image_id"],
                copy["region"], reason)
    return Outcome.permanent(reason)


def copy_one(key, env):
    """Reconcile one copy; an unreachable region is a temporary error (retried with the
    kind's backoff, the row stays pending/copying), any other region error fails it."""
    try:
        return _copy_one(key, env)
    except client_errors.RegionUnavailable as exc:
        raise TemporaryError(str(exc)) from exc
    except client_errors.RegionRejected as exc:
        copy = store.get_copy(env.conf, key.id)
        if copy is None:
            return Outcome.done()
        return _fail(env.conf, copy, str(exc))


def _copy_one(key, env):
    conf, shared = env.conf, env.shared
    copy = store.get_copy(conf, key.id)
    if copy is None or copy["state"] in (store.ACTIVE, store.FAILED):
        return Outcome.done()
    source_client = shared.regions.image(copy["source"])
    target = shared.regions.image(copy["region"])
    image_id = copy["image_id"]
    try:
        source = source_client.get_image(image_id)
    except region_errors.NotFound:
        return _fail(conf, copy, f"image {image_id} not found in {copy['source']}")
    if source.get("status") in ("queued", "saving", "uploading", "importing"):
        raise TemporaryError(f"image {image_id} is {source['status']} in {copy['source']}",
                             delay=2)
    if source.get("status") != "active":
        return _fail(conf, copy, f"image {image_id} is {source.get('status')} in "
                                 f"{copy['source']}, not active")
    with shared.gates(copy["source"], copy["region"]) as admitted:
        if not admitted:       # the region's concurrent copies are at the limit
            return Outcome.requeue_after(conf.image_distribution.gate_retry)
        new_id = copy["target_id"] or image_id
        outcome = _converge(conf, shared, copy, source, new_id, source_client, target)
        if outcome is not None:
            return outcome
    return Outcome.done(result=image_id)


def next_id(copy_id, used_id):
    """The id to use when `used_id` cannot be (Glance never reuses a deleted image's id)."""
    return str(uuid.uuid5(image_copy.NAMESPACE, f"{copy_id}:{used_id}"))


def _converge(conf, shared, copy, source, new_id, source_client, target):
    """Create, upload and verify the copy `new_id`; None when it is active and verified."""
    for _ in range(5):
        try:
            observed = target.get_image(new_id)
        except region_errors.NotFound:
            observed = None
        actions, conflict = image_copy.plan(source, observed, ours=copy["target_id"] == new_id)
        if conflict:
            return _fail(conf, copy, conflict)
        if image_copy.WAIT in actions:
            raise TemporaryError(f"image {new_id} is {observed['status']} in "
                                 f"{copy['region']}", delay=5)
        if image_copy.CREATE not in actions:
            break
        # recorded before the create: a retry after a crash knows the copy is ours
        store.update_copy(conf, copy["id"], state=store.COPYING, target_id=new_id)
        copy = dict(copy, target_id=new_id)
        deps = {k: source[k] for k in image_copy.DEPENDENCIES if source.get(k)}
        body = image_copy.create_attributes(source, new_id=new_id, dependencies=deps)
        if copy["hidden"]:
            body["os_hidden"] = True
        try:
            target.create_image(body)
            break
        except region_errors.Conflict:
            # not visible (deleted earlier, e.g. a copy that failed verification): Glance
            # keeps its id reserved, so the copy gets the next id of this row
            new_id = next_id(copy["id"], new_id)
    else:
        return _fail(conf, copy, f"no free image id in {copy['region']} after 5 tries")
    # before the data: the copy never becomes active in Glance without its members
    reason = _members(source_client, target, source, new_id)
    if image_copy.UPLOAD in actions:
        store.update_copy(conf, copy["id"], state=store.COPYING, target_id=new_id)
        _stream(shared.spools, source_client, target, source, new_id,
                corrupt=copy["region"] in shared.corrupt)
        copied = target.get_image(new_id)
        if not image_copy.matches(source, copied):
            target.delete_image(new_id)
            return _fail(conf, copy, (
                f"verification failed in {copy['region']}: status {copied.get('status')}, "
                f"checksum {copied.get('checksum')} vs {source.get('checksum')}; the copy "
                "was deleted"))
    store.update_copy(conf, copy["id"], state=store.ACTIVE, reason=reason, target_id=new_id,
                      checksum=source.get("checksum"))
    LOG.info("Image copied: image=%s source=%s region=%s target_id=%s size=%s", source["id"],
             copy["source"], copy["region"], new_id, source.get("size"))
    return None


def _members(source_client, target, source, new_id):
    """sync_members for a copy; None, or the reason the copy's row keeps when Glance refused
    (the copy stays usable by its owner; the auto audit tries the members again)."""
    try:
        sync_members(source_client, target, source, new_id)
    except client_errors.RegionRejected as exc:
        LOG.warning("Image members not propagated: image=%s region=%s error=%s",
                    source["id"], target.region, exc)
        return f"members not propagated: {exc}"
    return None


def sync_members(source_client, target, source, target_id):
    """Give the copy `target_id` the members (and their status) of a shared source image;
    returns the number of calls made. Idempotent: a member added by an earlier, interrupted
    run is found (or its 409 taken as done)."""
    if source.get("visibility") != "shared":
        return 0                       # Glance: only shared images have members
    try:
        wanted = source_client.list_members(source["id"])
    except region_errors.Forbidden:
        return 0                       # no longer shared in the source since it was read
    try:
        have = target.list_members(target_id)
    except region_errors.Forbidden:
        have = {}                      # the copy is not shared (yet): patched just before
    ops = member_ops(wanted, have)
    for op in ops:
        if op[0] == "add":
            try:
                target.add_member(target_id, op[1])
            except region_errors.Conflict:
                pass
        elif op[0] == "status":
            target.set_member_status(target_id, op[1], op[2])
        else:
            try:
                target.remove_member(target_id, op[1])
            except region_errors.NotFound:
                pass
    if ops:
        LOG.info("Image members propagated: image=%s region=%s target_id=%s calls=%d",
                 source["id"], target.region, target_id, len(ops))
    return len(ops)


# -- image_distribution (the auto audit) ----------------------------------------------------------
def _list(client, project_id):
    try:
        return {i["id"]: i for i in client.list_images(owner=project_id)}
    except client_errors.RegionError as exc:
        LOG.warning("Image audit could not list a region: region=%s project=%s error=%s",
                    client.region, project_id, exc)
        return None


def audit(key, env):
    conf, shared, project_id = env.conf, env.shared, key.id
    dists = store.distributions_of(conf, project_id)
    copies = {(c["image_id"], c["region"]): c
              for c in store.copies_of(conf, project_id=project_id)}
    if not dists and not copies:
        return Outcome.done(result=0)
    known = shared.known()
    auto = [d for d in dists.values() if d["mode"] == "auto"]
    source_regions = sorted({d["source"] for d in dists.values()}
                            | {c["source"] for c in copies.values()
                               if c["state"] == store.ACTIVE})
    target_regions = sorted({t for d in auto for t in targets_of(d, known)})
    every = list(dict.fromkeys(source_regions + target_regions))
    listed = dict(zip(every, shared.map(lambda r: _list(shared.regions.image(r), project_id),
                                        every), strict=True))
    sources = {r: None if listed[r] is None else list(listed[r].values())
               for r in source_regions}
    observed = {r: listed[r] for r in target_regions}
    actions = plan_audit(dists, sources, copies, observed, known)
    started = 0
    for action in actions:
        try:
            started += _apply(conf, shared, project_id, action)
        except client_errors.RegionError as exc:
            LOG.warning("Image audit action failed: project=%s action=%s error=%s",
                        project_id, action[0], exc)
    if started:
        shared.wake()
    return Outcome.done(result=len(actions))


def _apply(conf, shared, project_id, action):
    """Apply one audit action; returns the number of copies it started."""
    verb = action[0]
    if verb == "mirror":
        _, region, image_id, mode = action
        shared.regions.image(region).update_image(
            image_id, [{"op": "add", "path": f"/{PROPERTY}", "value": mode}])
    elif verb == "copy":
        _, image, region = action
        _, started = store.ensure_copy(conf, project_id=project_id, image_id=image["id"],
                                       source=effective(store.distributions_of(
                                           conf, project_id), image["id"])["source"],
                                       region=region, origin="auto")
        return int(started)
    elif verb == "restart":
        _, started = store.restart_copy(conf, action[1]["id"],
                                        from_states=(store.FAILED, store.ACTIVE))
        return int(started)
    elif verb == "update":
        _, region, image_id, ops = action
        shared.regions.image(region).update_image(image_id, ops)
        LOG.info("Image properties repaired: image=%s region=%s ops=%d", image_id, region,
                 len(ops))
    elif verb == "members":
        _, source_region, image, region, target_id = action
        sync_members(shared.regions.image(source_region), shared.regions.image(region), image,
                     target_id)
    elif verb == "delete":
        copy = action[1]
        try:
            shared.regions.image(copy["source"]).get_image(copy["image_id"])
            return 0                       # still there (listed under another owner)
        except region_errors.NotFound:
            pass
        try:
            shared.regions.image(copy["region"]).delete_image(copy["image_id"])
        except region_errors.NotFound:
            pass
        store.delete_copy(conf, copy["id"])
        LOG.info("Image deletion propagated: image=%s region=%s", copy["image_id"],
                 copy["region"])
    return 0


# -- image_rollout ------------------------------------------------------------------------------
def _visible_previous(client, name, new_id, project_id):
    """Ids of the images a user gets under `name` in a region (not the new one)."""
    return [i["id"] for i in client.list_images(name=name, owner=project_id)
            if i["id"] != new_id and not i.get("os_hidden") and i.get("status") == "active"]


def _hide(client, image_id, hidden):
    try:
        client.update_image(image_id, [{"op": "replace", "path": "/os_hidden",
                                        "value": hidden}])
    except region_errors.NotFound:
        pass


def rollout(key, env):
    conf, shared = env.conf, env.shared
    found = store.get_rollout(conf, key.id)
    if found is None or found["state"] in store.ROLLOUT_FINAL:
        return Outcome.done()
    if found["state"] == store.ROLLING_BACK:
        return _roll_back(conf, shared, found)
    if found["state"] == store.WAITING:
        if found["manual_promote"]:
            return Outcome.done()          # `promote` starts it again
        left = (found["next_wave_at"] - _now()).total_seconds() if found["next_wave_at"] else 0
        if left > 0:
            return Outcome.requeue_after(left)
        store.update_rollout(conf, found["id"], from_states=(store.WAITING,),
                             state=store.RUNNING, next_wave_at=None)
    source_region = found["source"]
    try:
        source = shared.regions.image(source_region).get_image(found["image_id"])
    except region_errors.NotFound:
        return _start_roll_back(conf, shared, found,
                                f"image {found['image_id']} deleted in {source_region}")
    except client_errors.RegionUnavailable as exc:
        reason = f"paused: source region {source_region} unreachable: {exc}"
        store.update_rollout(conf, found["id"], paused_reason=reason[:2000])
        return Outcome.requeue_after(conf.image_distribution.rollout_poll * 5)
    if found["paused_reason"]:
        store.update_rollout(conf, found["id"], paused_reason=None)
    index = found["wave"]
    regions = found["regions"]
    wave = {r: regions[r] for r in found["waves"][index]}
    copies = {r: store.find_copy(conf, found["image_id"], r) for r in wave}
    actions, failure = plan_wave(wave, copies)
    if failure:
        return _start_roll_back(conf, shared, found, f"wave {index + 1} failed: {failure}")
    started = waiting = False
    for region, action in actions.items():
        if action == "boot":
            try:
                passed = _boot_check(shared, found, region, regions[region],
                                     copies[region]["target_id"])
            except _Unverified as exc:
                store.update_rollout(conf, found["id"], regions=regions)
                return _start_roll_back(conf, shared, found, f"wave {index + 1} failed: "
                                                             f"{region}: {exc}")
            store.update_rollout(conf, found["id"], regions=regions)
            if not passed:
                waiting = True
                continue
            action = "switch"
        if action == "copy":
            _, new = store.ensure_copy(conf, project_id=found["project_id"],
                                       image_id=source["id"], source=source_region,
                                       region=region, origin="rollout", hidden=True)
            started = started or new
            regions[region]["state"] = "copying"
        elif action == "switch":
            try:
                _switch(shared.regions.image(region), source, copies[region]["target_id"],
                        found, regions[region])
            except client_errors.RegionUnavailable as exc:
                raise TemporaryError(f"{region} unreachable during switch: {exc}") from exc
            except _Unverified as exc:
                store.update_rollout(conf, found["id"], regions=regions)
                return _start_roll_back(conf, shared, found, f"wave {index + 1} failed: "
                                                             f"{region}: {exc}")
            store.update_rollout(conf, found["id"], regions=regions)
    store.update_rollout(conf, found["id"], regions=regions)
    if started:
        shared.wake()
    if waiting or any(a in ("copy", "wait") for a in actions.values()):
        return Outcome.requeue_after(conf.image_distribution.rollout_poll)
    # the wave is switched everywhere: the next one, a pause, a promote, or the end
    if index + 1 >= len(found["waves"]):
        store.update_rollout(conf, found["id"], from_states=(store.RUNNING,),
                             state=store.SUCCEEDED, reason="every wave verified and switched")
        LOG.info("Image rollout succeeded: rollout=%s image=%s", found["id"], source["id"])
        return Outcome.done()
    if found["manual_promote"] or found["pause"]:
        at = None if found["manual_promote"] else _now() + datetime.timedelta(
            seconds=found["pause"])
        store.update_rollout(conf, found["id"], from_states=(store.RUNNING,),
                             state=store.WAITING, wave=index + 1,
                             next_wave_at=at, reason=(
                                 f"wave {index + 1} done; waiting for promote"
                                 if found["manual_promote"] else
                                 f"wave {index + 1} done; pausing {found['pause']:g} s"))
        return Outcome.done() if found["manual_promote"] else Outcome.requeue_after(
            found["pause"])
    store.update_rollout(conf, found["id"], from_states=(store.RUNNING,), wave=index + 1)
    return Outcome.requeue_after(0.01)


class _Unverified(Exception):
    pass


def _switch(client, source, new_id, found, state):
    """Verify the copy, then make it the image under the name; the previous ones hidden."""
    copied = client.get_image(new_id)
    if not image_copy.matches(source, copied):
        raise _Unverified(f"copy is {copied.get('status')}, checksum "
                          f"{copied.get('checksum')} vs {source.get('checksum')}")
    if state["state"] != "switching":
        state["previous"] = _visible_previous(client, source["name"], new_id,
                                              found["project_id"])
        state["state"] = "switching"
    state["image_id"] = new_id
    _hide(client, new_id, False)
    for previous in state["previous"]:
        _hide(client, previous, True)
    state["state"] = "switched"


def _server_name(found, region):
    return f"multisite-boot-check-{found['id']}-{region}"


def _boot_check(shared, found, region, state, image_id):
    """One look at the region's boot check (a server from the copy, deleted once ACTIVE);
    True once passed. Raises _Unverified when the server fails or the check times out.
    The server's name is fixed by the rollout and region: a resumed rollout finds the
    server it started instead of booting another."""
    check = state["boot"]
    client = shared.regions.boot(region)
    name = _server_name(found, region)
    elapsed = (time.time() - check["started_at"]) if check.get("started_at") else None
    servers = client.find_servers(name)
    step, ids = plan_boot(check, servers, elapsed)
    if step == "create":
        flavor = client.flavor_ref(check["flavor"])
        if flavor is None:
            check["state"] = "failed"
            raise _Unverified(f"boot check: no flavor {check['flavor']} in {region}")
        check.update(state="booting", started_at=check.get("started_at") or time.time())
        store.update_rollout(shared.conf, found["id"], regions=found["regions"])
        try:
            check["server"] = client.create_server(name=name, image_id=image_id,
                                                   flavor_id=flavor, network=check["network"])
        except client_errors.RegionRejected as exc:    # e.g. 400: flavor too small
            check.update(state="failed", reason=f"boot check: Nova refused the server: {exc}")
            raise _Unverified(check["reason"]) from exc
        LOG.info("Image rollout boot check started: rollout=%s region=%s server=%s",
                 found["id"], region, check["server"])
        return False
    if step == "wait":
        return False
    fault = None
    if step == "failed":
        bad = [i for i in ids if servers[i] == "ERROR"][0]
        fault = client.get_server(bad)[1]
    for server in ids:
        with contextlib.suppress(region_errors.NotFound):
            client.delete_server(server)
    if step == "passed":
        check["state"] = "passed"
        LOG.info("Image rollout boot check passed: rollout=%s region=%s server=%s "
                 "seconds=%.1f", found["id"], region, ids[0], elapsed or 0.0)
        return True
    check["state"] = "failed"
    reason = (f"boot check: server {ids[0]} ERROR: {fault or 'no fault given'}"
              if step == "failed" else
              f"boot check: server not ACTIVE within {check['timeout']:g} s")
    check["reason"] = reason
    raise _Unverified(reason)


def _start_roll_back(conf, shared, found, reason):
    LOG.warning("Image rollout rolling back: rollout=%s reason=%s", found["id"], reason)
    store.update_rollout(conf, found["id"], from_states=(store.RUNNING, store.WAITING),
                         state=store.ROLLING_BACK, reason=reason[:2000])
    return _roll_back(conf, shared, store.get_rollout(conf, found["id"]))


def _roll_back(conf, shared, found):
    """Every region the rollout touched gets its previous images back under the name; the
    new copies are hidden (os_hidden), not deleted: Glance never gives a deleted image's id
    again, and a later rollout of the same image reuses them (docs/images.md)."""
    regions = found["regions"]
    for region, state in sorted(regions.items()):
        if state["state"] in ("pending", "rolled_back"):
            continue                                   # never touched, or done
        copy = store.find_copy(conf, found["image_id"], region)
        client = shared.regions.image(region)
        try:
            if (state.get("boot") or {}).get("state") == "booting":   # aborted mid-check
                boot = shared.regions.boot(region)
                for server in boot.find_servers(_server_name(found, region)):
                    with contextlib.suppress(region_errors.NotFound):
                        boot.delete_server(server)
                state["boot"]["state"] = "aborted"
            for previous in state.get("previous") or []:
                _hide(client, previous, False)
            if copy is not None and copy["target_id"]:
                _hide(client, copy["target_id"], True)
        except client_errors.RegionUnavailable as exc:
            raise TemporaryError(f"{region} unreachable during rollback: {exc}") from exc
        state["state"] = "rolled_back"
        store.update_rollout(conf, found["id"], regions=regions)
    store.update_rollout(conf, found["id"], from_states=(store.ROLLING_BACK,),
                         state=store.ROLLED_BACK)
    LOG.warning("Image rollout rolled back: rollout=%s reason=%s", found["id"],
                found["reason"])
    return Outcome.done()


class CopyKind:
    reconcile = staticmethod(copy_one)


def audit_one(key, env):
    try:
        return audit(key, env)
    except client_errors.RegionUnavailable as exc:   # Keystone's catalog unreachable
        raise TemporaryError(str(exc)) from exc


class AuditKind:
    reconcile = staticmethod(audit_one)


def rollout_one(key, env):
    """A region unreachable in the middle of a step: retried (each step is idempotent)."""
    try:
        return rollout(key, env)
    except client_errors.RegionUnavailable as exc:
        raise TemporaryError(str(exc)) from exc


class RolloutKind:
    reconcile = staticmethod(rollout_one)
