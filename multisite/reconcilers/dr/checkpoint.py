"""Checkpoints of protection plans (seed Option 1, method pause/none; Option 3, method
replicate: a replication cycle is a checkpoint that never pauses, started every period by
the plan's schedule): a durable job in phases.

    discover -> window -> backup -> export -> cleanup -> done

* window: pause the plan's servers group by group in plan order (a group's servers at
  once, each recorded *before* its call; the next group when the group shows PAUSED), start
  every volume snapshot at once, wait for all, then unpause in reverse order -- in a
  `finally`, so a failing snapshot still unpauses. The window is one reconcile call: a
  checkpoint found in phase `window` when its item is claimed was left open by an engine
  that died (kill -9, host loss); `recover` then unpauses every server the checkpoint paused
  that Nova still shows PAUSED, deletes the window's snapshots and fails the checkpoint. This
  is level-triggered: it reads Nova, not the log of what the dead engine did.
* backup: a backup of each snapshot, incremental when the parent checkpoint backed up the
  same volume (Cinder chooses the parent: the volume's newest backup); polled by requeue.
* export: each backup's record exported in the source region and imported in the backup
  region (the shared backup store holds the data), so that a restore needs nothing from the
  source region; the records are also kept in the checkpoint.
* cleanup: the temporary snapshots are deleted.
* retention: the plan's completed checkpoints beyond its `retention` are deleted (their
  backups in both regions), oldest first, never one a kept checkpoint's chain needs; a chain
  of incremental backups is at most `retention` long (then a full backup starts a new one),
  so that old chains can go.

The pure pieces (`next_action`, `pause_order`, `to_unpause`, `backup_requests`,
`window_summary`) are tested as matrices; `reconcile` applies them through one client per
region (multisite/clients/dr.py).
"""

from __future__ import annotations

import datetime
import logging
import time

from multisite.clients import dr as dr_client
from multisite.clients import errors as client_errors
from multisite.reconcilers import Outcome, PermanentError, TemporaryError
from multisite.reconcilers.dr import plan as plan_kind

LOG = logging.getLogger(__name__)

KIND = "dr_checkpoint"
DISCOVER, WINDOW, BACKUP, EXPORT, CLEANUP, RETENTION, DONE = (
    "discover", "window", "backup", "export", "cleanup", "retention", "done")
IMAGES = "images"         # method vm-snapshot: Nova's createImage per server, then copies
VM_SNAPSHOT = "vm-snapshot"
QUIESCE = "quiesce"       # method quiesce: createImage group by group (Nova quiesces inside)
# the consistency methods that pause the servers around the snapshots
PAUSING = ("pause",)
FIRST_POLL = 0.1          # seconds before a status is read again the first time


def now_iso():
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- pure planning ------------------------------------------------------------------------
def next_action(checkpoint):
    """What to do with a checkpoint in its recorded phase (None: nothing, it ended)."""
    if checkpoint["status"] in ("completed", "failed"):
        return None
    return {DISCOVER: "discover", WINDOW: "recover", IMAGES: "images", QUIESCE: "quiesce",
            BACKUP: "backup",
            EXPORT: "export", CLEANUP: "cleanup",
            RETENTION: "retention"}.get(checkpoint["phase"])


def pause_order(servers):
    """Server ids in the plan's group order (stable inside a group)."""
    return [s["id"] for s in sorted(servers, key=lambda s: (s["group"], s["position"]))]


def pause_groups(servers):
    """Server ids by plan group, groups in order: a group's servers are paused together
    (the order the plan asks for is between groups)."""
    groups = {}
    for sid in pause_order(servers):
        groups.setdefault(next(s["group"] for s in servers if s["id"] == sid), []).append(sid)
    return list(groups.values())


def to_unpause(servers, observed):
    """The level-triggered rule: servers this checkpoint paused or was pausing that Nova
    shows PAUSED now, in reverse group order. observed: {server id: Nova status}."""
    ours = {s["id"]: s for s in servers}
    return [sid for sid in reversed(pause_order(servers))
            if ours[sid].get("pause") in ("pausing", "paused") and observed.get(sid) == "PAUSED"]


def backup_requests(volumes, parent_volumes, *, max_chain=None):
    """[(volume, incremental, parent backup id)] for volumes not backed up yet.

    A volume the parent checkpoint backed up gets an incremental backup of that chain,
    unless the chain already holds `max_chain` backups (then a full one starts a new chain).
    """
    parents = {v["id"]: v for v in parent_volumes or []}
    out = []
    for volume in volumes:
        if volume.get("backup_id"):
            continue
        parent = parents.get(volume["id"]) or {}
        depth = parent.get("chain_length", 1)
        if parent.get("backup_id") and (max_chain is None or depth < max_chain):
            out.append((volume, True, parent["backup_id"]))
        else:
            out.append((volume, False, None))
    return out


def chain_length(incremental, parent_volume):
    """How many backups the volume's chain holds with this one."""
    return (parent_volume or {}).get("chain_length", 1) + 1 if incremental else 1


def expired(completed, retention):
    """Checkpoints to delete, newest first: those beyond the newest `retention`, except any
    that a kept checkpoint's chain of parents reaches (its backups are still needed).

    completed: [{"id", "parent_id", "incremental": bool}] oldest first; a checkpoint whose
    backups were all full does not need its parent.
    """
    keep = completed[-retention:] if retention else []
    by_id = {c["id"]: c for c in completed}
    needed = set()
    for checkpoint in keep:
        current = checkpoint
        while current and current.get("incremental") and current.get("parent_id"):
            needed.add(current["parent_id"])
            current = by_id.get(current["parent_id"])
    old = completed[:-retention] if retention else list(completed)
    return [c["id"] for c in reversed(old) if c["id"] not in needed]


def window_summary(opened, closed, snapshot_seconds):
    """The measured window: its length and the slowest single snapshot (seconds)."""
    slowest = max(snapshot_seconds) if snapshot_seconds else 0.0
    return {"seconds": round(closed - opened, 3), "slowest_snapshot_seconds": round(slowest, 3)}


def copy_name(checkpoint_id, volume_id):
    """The name of a checkpoint's snapshot and backup of one volume: how a resumed job finds
    what a dead engine created but had not recorded yet."""
    return f"ms-dr-{checkpoint_id}-{volume_id}"


# -- applying -----------------------------------------------------------------------------
class _Run:
    """One reconcile of one checkpoint: its row, the plan, the clients, and save()."""

    def __init__(self, key, shared):
        self.key, self.shared, self.store = key, shared, shared.store
        self.cp = self.store.checkpoint(key.id)
        self.plan = self.store.plan(self.cp["plan_id"]) if self.cp else None

    @property
    def resources(self):
        return self.cp["resources"]

    def save(self, **values):
        for name in ("phase", "status", "window", "error"):
            if name in values and values[name] is not None:
                self.cp[name] = values[name]
        self.store.save(self.key.id, resources=self.resources, **values)

    def fail(self, error):
        self.store.finish(self.key.id, ok=False, error=error)
        LOG.error("Checkpoint failed: checkpoint=%s plan=%s error=%s", self.key.id,
                  self.cp["plan_id"], error)
        raise PermanentError(error)

    @property
    def source(self):
        return self.shared.client(self.plan["source_region"])

    @property
    def backup_region(self):
        return self.shared.client(self.plan["backup_region"])


def _discover(run):
    resources, problems = plan_kind.discover(run.plan, run.source)
    if problems:
        run.store.record_discovery(run.plan["id"], resources=resources, problems=problems)
        run.fail("the plan cannot be protected now: " + "; ".join(
            f"{p['resource']}: {p['reason']}" for p in problems))
    servers = [{"id": s["id"], "name": s["name"], "group": s["group"], "position": i,
                "pause": None} for i, s in enumerate(resources["servers"])]
    if run.cp["method"] == VM_SNAPSHOT:
        for server, found in zip(servers, resources["servers"], strict=True):
            # a server booted from an image has its root disk in the image Nova makes;
            # a volume-backed one gets an image holding only its volumes' snapshot ids
            server.update(volume_backed=not found["image_id"], image="pending")
    if run.cp["method"] == QUIESCE:
        by_volume = {v["id"]: v for v in resources["volumes"]}
        for server, found in zip(servers, resources["servers"], strict=True):
            props = plan_kind.quiesce_properties(found, by_volume)
            server.update(volume_backed=True, image="pending",
                          guest_agent=props["guest_agent"],
                          require_quiesce=props["require_quiesce"])
    by_id = {s["id"]: s["name"] for s in resources["servers"]}
    volumes = [{"id": v["id"], "server_id": v["server_id"], "server": by_id.get(v["server_id"]),
                "bootable": v["bootable"], "device": v["device"], "size": v["size"],
                "status": "pending"} for v in resources["volumes"]]
    run.cp["resources"] = {"servers": servers, "volumes": volumes, "plan": resources}
    if run.cp["method"] in (VM_SNAPSHOT, QUIESCE):
        run.save(phase=IMAGES if run.cp["method"] == VM_SNAPSHOT else QUIESCE,
                 status="running")
        return
    run.save(phase=WINDOW if run.cp["method"] in PAUSING else BACKUP, status="running")
    if run.cp["method"] not in PAUSING:
        # methods none and replicate: snapshots without pausing (crash consistency per
        # volume only)
        _snapshots(run, run.source)
        if any(v["status"] == "failed" for v in run.resources["volumes"]):
            _abandon_snapshots(run, run.source)
            run.fail(_snapshot_error(run))
        run.save(phase=BACKUP)


def _wait_status(get, want, *, timeout, interval, region, what,
                 fail=("error", "ERROR")):
    """Read `get()` until it is `want`. The reads start fast and slow down to `interval`:
    a pause or a snapshot is often done within a fraction of a second, and inside the
    pause window every poll's delay keeps the VNF paused longer."""
    deadline = time.monotonic() + timeout
    pause = min(FIRST_POLL, interval)
    while True:
        status = get()
        if status == want:
            return status
        if status in fail:
            raise client_errors.RegionRejected(region, f"{what} is {status}")
        if time.monotonic() > deadline:
            raise client_errors.RegionUnavailable(region,
                                                  f"{what} still {status} after {timeout} s")
        time.sleep(pause)
        pause = min(pause * 2, interval)


def _snapshots(run, client, volumes=None):
    """Every volume snapshot (of `volumes`, default all) started at once and waited for;
    per-volume status/timings."""
    opts = run.shared.opts

    def one(volume):
        started = time.monotonic()
        snapshot_id = client.create_snapshot(volume["id"], name=copy_name(run.key.id,
                                                                          volume["id"]))
        volume["snapshot_id"] = snapshot_id
        seen = {}

        def status():
            seen.update(client.snapshot(snapshot_id) or {})
            return seen.get("status")

        try:
            _wait_status(status, "available", timeout=opts.snapshot_timeout,
                         interval=opts.poll_interval, region=client.region,
                         what=f"snapshot {snapshot_id}")
            # Cinder's creation time and when we saw it available: both inside the window
            volume["snapshot_created_at"] = seen.get("created_at")
            volume["snapshot_available_at"] = now_iso()
        finally:
            volume["snapshot_seconds"] = round(time.monotonic() - started, 3)

    volumes = run.resources["volumes"] if volumes is None else volumes
    futures = {run.shared.pool.submit(one, v): v for v in volumes}
    for future, volume in futures.items():
        try:
            future.result()
            volume["status"] = "snapshotted"
        except client_errors.RegionError as exc:
            volume["status"], volume["error"] = "failed", f"snapshot: {exc}"


def _snapshot_error(run):
    failed = [v for v in run.resources["volumes"] if v["status"] == "failed"]
    return "snapshot failed for " + ", ".join(
        f"volume {v['id']} of server {v['server']} ({v.get('error')})" for v in failed)


def _abandon_snapshots(run, client, *, search=False):
    """Delete the window's snapshots; search=True also finds by name those a dead engine
    created without recording them."""
    for volume in run.resources["volumes"]:
        found = [volume["snapshot_id"]] if volume.get("snapshot_id") else []
        try:
            if search:
                found = sorted(set(found) | set(client.find_snapshots(
                    copy_name(run.key.id, volume["id"]))))
            for snapshot_id in found:
                client.delete_snapshot(snapshot_id)
        except client_errors.RegionError as exc:
            LOG.warning("Checkpoint snapshot not deleted: checkpoint=%s volume=%s error=%s",
                        run.key.id, volume["id"], exc)


def _unpause(run, client, servers):
    """Unpause servers (ids, in the given order); True if every call succeeded."""
    ok = True
    by_id = {s["id"]: s for s in run.resources["servers"]}
    for sid in servers:
        try:
            client.unpause(sid)
            by_id[sid]["pause"], by_id[sid]["unpaused_at"] = "unpaused", now_iso()
        except client_errors.RegionError as exc:
            ok = False
            by_id[sid]["error"] = f"unpause: {exc}"
            LOG.error("Checkpoint could not unpause: checkpoint=%s server=%s error=%s",
                      run.key.id, sid, exc)
    return ok


def _window(run):
    """Pause in order, all snapshots at once, unpause in reverse order (always)."""
    client, opts = run.source, run.shared.opts
    servers = {s["id"]: s for s in run.resources["servers"]}
    order = pause_order(run.resources["servers"])
    opened = time.monotonic()
    window = {"opened_at": now_iso()}
    run.save(phase=WINDOW, window=window)
    error = None
    try:
        for group in pause_groups(run.resources["servers"]):
            for sid in group:                 # recorded before its call, one by one
                servers[sid]["pause"] = "pausing"
                run.save()
                client.pause(sid)
            for sid in group:                 # then the group's servers waited for at once
                _wait_status(lambda s=sid: client.server(s)["status"], "PAUSED",
                             timeout=opts.pause_timeout, interval=opts.poll_interval,
                             region=client.region, what=f"server {servers[sid]['name']}")
                servers[sid]["pause"], servers[sid]["paused_at"] = "paused", now_iso()
        window["paused_at"] = now_iso()
        run.save(window=window)
        _snapshots(run, client)
        if opts.test_hold_window:
            # test hook: the integration tests kill -9 the engine here, servers paused
            run.save()
            LOG.warning("Checkpoint window held open (test_hold_window): checkpoint=%s "
                        "seconds=%s", run.key.id, opts.test_hold_window)
            time.sleep(opts.test_hold_window)
    except client_errors.RegionError as exc:
        error = f"pause: {exc}"
    finally:
        paused = [sid for sid in reversed(order)
                  if servers[sid].get("pause") in ("pausing", "paused")]
        unpaused = _unpause(run, client, paused)
        closed = time.monotonic()
        window.update(window_summary(opened, closed, [
            v["snapshot_seconds"] for v in run.resources["volumes"]
            if "snapshot_seconds" in v]), closed_at=now_iso())
        run.save(window=window)
    if not unpaused:
        # stay in phase window: the next attempt recovers (unpauses) first
        raise TemporaryError("servers still paused: " + ", ".join(
            s["name"] for s in servers.values() if s.get("pause") != "unpaused"),
            delay=opts.poll_interval)
    if error or any(v["status"] == "failed" for v in run.resources["volumes"]):
        _abandon_snapshots(run, client)
        run.fail(error or _snapshot_error(run))
    LOG.info("Checkpoint window closed: checkpoint=%s servers=%d volumes=%d seconds=%.3f "
             "slowest_snapshot=%.3f", run.key.id, len(order), len(run.resources["volumes"]),
             window["seconds"], window["slowest_snapshot_seconds"])
    run.save(phase=BACKUP)


def _recover(run):
    """A window left open by a dead engine: unpause what Nova shows paused, then fail."""
    client = run.source
    observed = {}
    for server in run.resources["servers"]:
        try:
            observed[server["id"]] = client.server(server["id"])["status"]
        except client_errors.RegionRejected:
            observed[server["id"]] = None
    pending = to_unpause(run.resources["servers"], observed)
    if not _unpause(run, client, pending):
        run.save()
        raise TemporaryError("servers still paused after an interrupted window",
                             delay=run.shared.opts.poll_interval)
    _abandon_snapshots(run, client, search=True)
    window = dict(run.cp.get("window") or {}, recovered_at=now_iso(), interrupted=True)
    run.save(window=window)
    LOG.warning("Checkpoint window recovered: checkpoint=%s unpaused=%s", run.key.id,
                ",".join(pending) or "-")
    run.fail("the engine stopped inside the pause window; servers unpaused: "
             + (", ".join(pending) or "none was still paused"))


def _age(stamp):
    """Seconds since a time written by now_iso()."""
    then = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (datetime.datetime.now(datetime.UTC) - then).total_seconds()


def snapshot_ids_by_volume(mapping, volumes):
    """{volume id: snapshot id} from the block_device_mapping Nova records in a
    volume-backed server's image (matched by device name), and the volumes it does not
    name. Pure."""
    by_device = {m.get("device_name"): m.get("snapshot_id") for m in mapping
                 if m.get("snapshot_id")}
    found, missing = {}, []
    for volume in volumes:
        snapshot_id = by_device.get(volume.get("device"))
        if snapshot_id:
            found[volume["id"]] = snapshot_id
        else:
            missing.append(volume["id"])
    return found, missing


def _take_novas_snapshots(run, server, image):
    """The snapshots Nova named in a volume-backed server's image become its volumes'
    (matched by device); an image naming none of a volume fails the checkpoint."""
    mine = [v for v in run.resources["volumes"] if v["server_id"] == server["id"]]
    found, missing = snapshot_ids_by_volume(image["block_device_mapping"], mine)
    if missing:
        _fail_images(run, f"the image of server {server['name']} names no snapshot of "
                          f"volume(s) {', '.join(missing)}")
    for volume in mine:
        volume["snapshot_id"] = found[volume["id"]]
    server["snapshot_ids"] = [found[v["id"]] for v in mine]
    return mine


def _fail_images(run, error):
    """Fail a vm-snapshot checkpoint: its snapshots and the images it made deleted first."""
    client = run.source
    _abandon_snapshots(run, client)
    for server in run.resources["servers"]:
        if server.get("image_id"):
            try:
                # the snapshots Nova made for a volume-backed server, named by its image
                image = client.image(server["image_id"]) or {"block_device_mapping": []}
                for mapping in image["block_device_mapping"]:
                    if mapping.get("snapshot_id"):
                        client.delete_snapshot(mapping["snapshot_id"])
                client.delete_image(server["image_id"])
                server["image_deleted"] = True
            except client_errors.RegionError as exc:
                LOG.warning("Checkpoint image not deleted: checkpoint=%s image=%s error=%s",
                            run.key.id, server["image_id"], exc)
    run.save()
    run.fail(error)


def _images(run):
    """Method vm-snapshot: Nova's createImage of every server (requested at once; each
    recorded after its call, found by name if an engine died in between), waited for.
    A volume-backed server's image names the volume snapshots Nova made: they become the
    volumes' snapshots, backed up and exported as for the other methods. A server booted
    from an image: its image is copied to the backup region by the image copy kind
    (`image_copy`, the project's image distribution) and its data volumes are snapshotted
    here, without pausing."""
    client, backup_region = run.source, run.plan["backup_region"]
    servers = run.resources["servers"]
    volumes = run.resources["volumes"]
    requested = [s for s in servers if not s.get("image_id")]
    for server in requested:
        name = copy_name(run.key.id, server["id"])
        found = client.find_images(name)
        server["image_id"] = found[0] if found else client.create_image(server["id"],
                                                                        name=name)
        server["image"], server["image_requested_at"] = "creating", now_iso()
        run.save()
    # the data volumes of servers booted from images (also on a resumed phase whose
    # engine died before snapshotting them)
    image_backed = {s["id"] for s in servers if not s["volume_backed"]}
    data = [v for v in volumes if v["server_id"] in image_backed
            and not v.get("snapshot_id") and v["status"] == "pending"]
    if data:
        _snapshots(run, client, data)
        if any(v["status"] == "failed" for v in data):
            _fail_images(run, _snapshot_error(run))
        run.save()
    pending = []
    for server in servers:
        if server["image"] in ("available", "copied"):
            continue
        if server["image"] == "copying":
            copy = run.store.image_copy(server["image_copy_id"]) or {"state": "failed"}
            if copy["state"] == "active":
                server.update(image="copied", copied_image_id=copy["target_id"])
            elif copy["state"] == "failed":
                _fail_images(run, f"copy of image {server['image_id']} of server "
                                  f"{server['name']} to {backup_region} failed: "
                                  f"{copy.get('reason')}")
            else:
                pending.append(server["name"])
            continue
        image = client.image(server["image_id"])
        status = image["status"] if image else "deleted"
        if status != "active":
            if status in ("killed", "deleted", "deactivated"):
                _fail_images(run, f"image of server {server['name']} is {status}")
            if _age(server["image_requested_at"]) > run.shared.opts.snapshot_timeout:
                # a hypervisor that never uploads (Nova's fake driver) leaves it queued
                _fail_images(run, f"image of server {server['name']} still {status} after "
                                  f"[dr] snapshot_timeout ({run.shared.opts.snapshot_timeout}"
                                  " s)")
            pending.append(server["name"])
            continue
        server["image_active_at"] = now_iso()
        if server["volume_backed"]:
            _take_novas_snapshots(run, server, image)
            server["image"] = "available"
        else:
            copy = run.store.ensure_image_copy(image_id=server["image_id"],
                                               project_id=image["owner"],
                                               source=run.plan["source_region"],
                                               region=backup_region)
            server.update(image="copying", image_copy_id=copy["id"])
            pending.append(server["name"])
        run.save()
    for volume in volumes:          # Nova's snapshots: available before a backup
        if volume.get("snapshot_id") and volume["status"] == "pending":
            snapshot = client.snapshot(volume["snapshot_id"]) or {"status": "deleted"}
            if snapshot["status"] == "available":
                volume.update(status="snapshotted",
                              snapshot_created_at=snapshot.get("created_at"))
            elif snapshot["status"] in ("error", "deleted"):
                volume.update(status="failed", error=f"snapshot: {snapshot['status']}")
                run.save()
                _fail_images(run, _snapshot_error(run))
            else:
                pending.append(volume["id"])
    if pending:
        run.save()
        return Outcome.requeue_after(run.shared.opts.poll_interval)
    run.save(phase=BACKUP)
    return None


# -- method quiesce ------------------------------------------------------------------------
def quiesce_outcome(status, *, require_quiesce):
    """(quiesced, why) of one createImage that Nova answered: True/False when Nova's rules
    make it certain, None when its API does not say. status: the server's status just
    before the request. Nova (compute/api.py snapshot_volume_backed) quiesces only an ACTIVE
    server, and skips a failed quiesce silently unless the image says os_require_quiesce.
    Pure."""
    if status != "ACTIVE":
        return False, f"the server was {status}: Nova quiesces only ACTIVE servers"
    if require_quiesce:
        return True, ("os_require_quiesce=yes: Nova fails createImage instead of skipping "
                      "the quiesce, and createImage succeeded")
    return None, ("Nova asked the guest agent to quiesce; its API does not say whether it "
                  "did or skipped it (os_require_quiesce=yes on the image makes it certain)")


def _seconds(start, end):
    """Seconds between two times written by now_iso() (None if one is missing)."""
    if not start or not end:
        return None
    parse = datetime.datetime.fromisoformat
    return round((parse(end.replace("Z", "+00:00"))
                  - parse(start.replace("Z", "+00:00"))).total_seconds(), 3)


def _request_quiesced_image(run, client, server):
    """createImage of one server (Nova quiesces, snapshots every volume, unquiesces once
    the snapshots left `creating`); an image a dead engine requested is found by name."""
    name = copy_name(run.key.id, server["id"])
    found = client.find_images(name)
    if found:
        server.update(image_id=found[0], image="creating", adopted=True)
        return
    status = client.server(server["id"])["status"]
    server.update(nova_status=status, image_requested_at=now_iso())
    server["image_id"] = client.create_image(server["id"], name=name, method=QUIESCE)
    quiesced, why = quiesce_outcome(status, require_quiesce=server["require_quiesce"])
    server.update(image_returned_at=now_iso(), image="creating", quiesced=quiesced,
                  quiesce_evidence=why)


def _quiesce_group(run, client, group):
    """One plan group: createImage of its servers at once, then every snapshot Nova named
    in their images waited for (the next group is quiesced only after this one's
    snapshots are available, so Nova has unquiesced it)."""
    opts = run.shared.opts
    futures = [(s, run.shared.pool.submit(_request_quiesced_image, run, client, s))
               for s in group if not s.get("image_id")]
    refused, errors = [], []
    for server, future in futures:
        error = future.exception()
        if isinstance(error, client_errors.RegionRejected):
            server.update(image="failed", error=f"createImage: {error}")
            refused.append(server)
        elif error is not None:
            errors.append(error)
    run.save()
    if refused:
        _fail_images(run, "createImage refused for " + ", ".join(
            f"server {s['name']} ({s['error']})" for s in refused))
    if errors:
        raise errors[0]
    volumes = []
    for server in group:
        try:
            _wait_status(lambda s=server: (client.image(s["image_id"])
                                           or {"status": "deleted"})["status"], "active",
                         timeout=opts.snapshot_timeout, interval=opts.poll_interval,
                         region=client.region, what=f"image {server['image_id']}",
                         fail=("killed", "deleted", "deactivated"))
        except client_errors.RegionError as exc:
            # refused, or still not active after [dr] snapshot_timeout: nothing left behind
            _fail_images(run, f"image of server {server['name']}: {exc}")
        image = client.image(server["image_id"])
        server["image_active_at"] = now_iso()
        volumes.extend(_take_novas_snapshots(run, server, image))
    run.save()

    def one(volume):
        seen = {}

        def status():
            seen.update(client.snapshot(volume["snapshot_id"]) or {"status": "deleted"})
            return seen.get("status")

        _wait_status(status, "available", timeout=opts.snapshot_timeout,
                     interval=opts.poll_interval, region=client.region,
                     what=f"snapshot {volume['snapshot_id']}", fail=("error", "deleted"))
        volume.update(snapshot_created_at=seen.get("created_at"),
                      snapshot_available_at=now_iso())

    by_id = {s["id"]: s for s in group}
    for volume, future in [(v, run.shared.pool.submit(one, v)) for v in volumes
                           if v["status"] == "pending"]:
        try:
            future.result()
            volume["status"] = "snapshotted"
            # from the server's createImage request: Nova's snapshots start inside it
            volume["snapshot_seconds"] = _seconds(
                by_id[volume["server_id"]].get("image_requested_at"),
                volume["snapshot_available_at"])
        except client_errors.RegionError as exc:
            volume["status"], volume["error"] = "failed", f"snapshot: {exc}"
    if any(v["status"] == "failed" for v in volumes):
        run.save()
        _fail_images(run, _snapshot_error(run))
    for server in group:
        mine = [v for v in volumes if v["server_id"] == server["id"]]
        server["snapshots_available_at"] = max(v["snapshot_available_at"] for v in mine)
        # an upper bound of Nova's quiesce: it froze the guest after the request came in
        # and thaws it once the snapshots left `creating`
        server["quiesce_window_seconds"] = _seconds(server.get("image_requested_at"),
                                                    server["snapshots_available_at"])
        server["image"] = "available"
    run.save()


def _quiesce(run):
    """Method quiesce (seed Option 1 with the guest agent): the plan's groups in order,
    each one's servers imaged by Nova at once; then the snapshots go through backup,
    export and cleanup like pause's. The engine never holds a guest quiesced: Nova
    quiesces and unquiesces inside its own createImage, so an engine that dies here
    leaves nothing frozen (the resumed phase adopts the images by name)."""
    client = run.source
    servers = {s["id"]: s for s in run.resources["servers"]}
    window = dict(run.cp.get("window") or {})
    if "opened_at" not in window:
        window["opened_at"] = now_iso()
        run.save(window=window)
    groups = window.setdefault("groups", [])
    for index, ids in enumerate(pause_groups(run.resources["servers"])):
        group = [servers[sid] for sid in ids]
        if all(s["image"] == "available" for s in group):
            continue
        opened = now_iso()
        _quiesce_group(run, client, group)
        mine = [v for v in run.resources["volumes"] if v["server_id"] in ids]
        closed = max(s["snapshots_available_at"] for s in group)
        groups.append({"group": index, "servers": [s["name"] for s in group],
                       "opened_at": opened, "closed_at": closed,
                       "seconds": _seconds(opened, closed),
                       "slowest_snapshot_seconds": max(
                           (v.get("snapshot_seconds") or 0.0) for v in mine)})
        run.save(window=window)
    volumes = run.resources["volumes"]
    window.update(closed_at=max(v["snapshot_available_at"] for v in volumes))
    window.update(seconds=_seconds(window["opened_at"], window["closed_at"]),
                  slowest_snapshot_seconds=max((v.get("snapshot_seconds") or 0.0)
                                               for v in volumes))
    LOG.info("Checkpoint quiesce done: checkpoint=%s servers=%d volumes=%d seconds=%.3f "
             "slowest_snapshot=%.3f quiesced=%s", run.key.id, len(servers), len(volumes),
             window["seconds"], window["slowest_snapshot_seconds"],
             ",".join(f"{s['name']}:{s.get('quiesced')}" for s in servers.values()))
    run.save(phase=BACKUP, window=window)
    return None


def _advance(run, pending, phase):
    """Requeue while anything is pending, else move the checkpoint to `phase`."""
    if pending:
        run.save()
        return Outcome.requeue_after(run.shared.opts.poll_interval)
    run.save(phase=phase)
    return None


def _backup(run):
    """Backups of the snapshots, up to [dr] backup_concurrency running at once; the next
    ones are requested in the same call as soon as a status read shows a slot free."""
    while True:
        _start_backups(run)
        pending, failed = _read_backups(run)
        if failed:
            run.save()
            _abandon_snapshots(run, run.source)
            run.fail("backup failed for " + ", ".join(f"volume {v['id']}" for v in failed))
        waiting = [v for v in pending if not v.get("backup_id")]
        running = len(pending) - len(waiting)
        if waiting and running < run.shared.opts.backup_concurrency:
            continue                        # a slot is free: request the next ones now
        return _advance(run, pending, EXPORT)


def _start_backups(run):
    client = run.source
    parent = run.store.checkpoint(run.cp["parent_id"]) if run.cp["parent_id"] else None
    parent_volumes = (parent or {}).get("resources", {}).get("volumes", [])
    parents = {v["id"]: v for v in parent_volumes}
    requests = backup_requests(run.resources["volumes"], parent_volumes,
                               max_chain=run.plan["retention"])
    running = sum(1 for v in run.resources["volumes"] if v.get("backup_id")
                  and v.get("backup_status") not in ("available", "error", "deleted"))
    requests = requests[:max(0, run.shared.opts.backup_concurrency - running)]

    def start(request):
        volume, incremental, parent_backup = request
        name = copy_name(run.key.id, volume["id"])
        # a backup a dead engine requested but did not record is adopted, not made twice
        found = client.find_backups(name)
        backup_id = found[0] if found else client.create_backup(
            volume["id"], snapshot_id=volume["snapshot_id"], incremental=incremental,
            name=name)
        volume.update(backup_id=backup_id, incremental=incremental,
                      parent_backup_id=parent_backup, backup_started_at=now_iso(),
                      chain_length=chain_length(incremental, parents.get(volume["id"])))

    # requested together up to [dr] backup_concurrency (Cinder runs them side by side,
    # each holding a chunk in memory), the next ones as these end
    futures = [run.shared.pool.submit(start, r) for r in requests]
    errors = [f.exception() for f in futures]
    if requests:
        run.save()
    for error in errors:
        if error is not None:
            raise error


def _read_backups(run):
    """(pending, failed) volumes after reading every requested backup's status."""
    pending, failed = [], []
    for volume in run.resources["volumes"]:
        if not volume.get("backup_id"):
            pending.append(volume)          # requested once a running backup ended
            continue
        if volume["status"] == "backed_up":
            continue
        backup = run.source.backup(volume["backup_id"])
        status = backup["status"] if backup else "deleted"
        volume["backup_status"] = status
        if backup:
            volume["is_incremental"] = backup["is_incremental"]
        if status == "available":
            volume["status"] = "backed_up"
        elif status in ("error", "deleted"):
            volume["status"], volume["error"] = "failed", f"backup {volume['backup_id']}: " + (
                (backup or {}).get("fail_reason") or status)
            failed.append(volume)
        else:
            pending.append(volume)
    return pending, failed


def _record_cinder_parent(run, volume):
    """Cinder chooses an incremental backup's parent itself (the volume's newest backup
    older than the snapshot) and its API never shows it: read it from the exported record
    and keep it beside the parent we asked for; a difference is logged (another backup of
    the volume, made outside this plan, came in between)."""
    actual = dr_client.record_parent(volume["record"])
    volume["cinder_parent_backup_id"] = actual
    if volume.get("incremental") and actual != volume.get("parent_backup_id"):
        LOG.warning("Checkpoint backup parent differs: checkpoint=%s volume=%s expected=%s "
                    "cinder=%s", run.key.id, volume["id"], volume.get("parent_backup_id"),
                    actual)


def _export(run):
    source, target = run.source, run.backup_region
    for volume in run.resources["volumes"]:
        if not volume.get("record"):
            volume["record"] = source.export_backup(volume["backup_id"])
            _record_cinder_parent(run, volume)
            run.save()
        if not volume.get("imported_backup_id"):
            # Cinder's import keeps the record's id, and refuses a second import of it: a
            # record an engine imported but died before recording is adopted
            known = dr_client.record_backup_id(volume["record"])
            if known and target.backup(known) is not None:
                volume["imported_backup_id"] = known
            else:
                volume["imported_backup_id"] = target.import_backup(volume["record"])
            run.save()
    pending = []
    for volume in run.resources["volumes"]:
        imported = target.backup(volume["imported_backup_id"])
        status = imported["status"] if imported else "deleted"
        volume["imported_status"] = status
        if status in ("error", "deleted"):
            run.save()
            run.fail(f"import of backup {volume['backup_id']} in "
                     f"{run.plan['backup_region']} failed: {status}")
        if status != "available":
            pending.append(volume)
        else:
            volume["status"] = "exported"
    return _advance(run, pending, CLEANUP)


def _cleanup(run):
    client = run.source
    pending = []
    for volume in run.resources["volumes"]:
        snapshot_id = volume.get("snapshot_id")
        if not snapshot_id or volume.get("snapshot_deleted"):
            continue
        snapshot = client.snapshot(snapshot_id)
        if snapshot is None:
            volume["snapshot_deleted"] = True
        elif snapshot["status"] == "error_deleting":
            volume["snapshot_deleted"] = False
            volume["cleanup_error"] = f"snapshot {snapshot_id} is error_deleting"
        else:
            if snapshot["status"] != "deleting":
                client.delete_snapshot(snapshot_id)
            pending.append(volume)
    if pending:
        run.save()
        return Outcome.requeue_after(run.shared.opts.poll_interval)
    for server in run.resources["servers"]:
        # a volume-backed server's image only names the snapshots just deleted
        if server.get("volume_backed") and server.get("image_id") and not server.get(
                "image_deleted"):
            client.delete_image(server["image_id"])
            server["image_deleted"] = True
            run.save()
    run.save(phase=RETENTION)
    return None


def _summary(checkpoint):
    volumes = checkpoint["resources"].get("volumes", [])
    return {"id": checkpoint["id"], "parent_id": checkpoint["parent_id"],
            "incremental": any(v.get("incremental") for v in volumes)}


def _old_backups(run, old):
    """(client, backup id) of an expired checkpoint, in both regions."""
    for volume in old["resources"].get("volumes", []):
        if volume.get("imported_backup_id"):
            yield run.backup_region, volume["imported_backup_id"]
        if volume.get("backup_id"):
            yield run.source, volume["backup_id"]


def _old_images(run, old):
    """An expired vm-snapshot checkpoint's images: the copy in the backup region (and its
    copy record) and the source image (best effort: the source may be gone)."""
    for server in old["resources"].get("servers", []):
        if server.get("copied_image_id"):
            run.backup_region.delete_image(server["copied_image_id"])
        if server.get("image_copy_id"):
            run.store.forget_image_copy(server["image_copy_id"])
        if server.get("image_id") and not server.get("image_deleted"):
            try:
                run.source.delete_image(server["image_id"])
            except client_errors.RegionError as exc:
                LOG.warning("Checkpoint image not deleted: checkpoint=%s image=%s error=%s",
                            old["id"], server["image_id"], exc)


def _retention(run):
    """Delete the plan's checkpoints beyond its retention (this one counts as completed),
    newest first, one checkpoint at a time: Cinder refuses to delete a backup while an
    incremental backup on it exists, even one being deleted, so an older checkpoint's
    backups are deleted only once the newer one's are gone (polled by requeue)."""
    done = [c for c in run.store.completed(run.plan["id"]) if c["id"] != run.key.id]
    chain = [_summary(c) for c in done] + [_summary(run.cp)]
    deleted = run.cp["resources"].setdefault("retention_deleted", [])
    for checkpoint_id in expired(chain, run.plan["retention"]):
        old = next(c for c in done if c["id"] == checkpoint_id)
        pending = []
        for client, backup_id in _old_backups(run, old):
            found = client.backup(backup_id)
            if found is None:
                continue
            pending.append(backup_id)
            if found["status"] != "deleting":
                client.delete_backup(backup_id)
        if pending:
            run.save()
            return Outcome.requeue_after(run.shared.opts.poll_interval)
        _old_images(run, old)
        run.store.remove(checkpoint_id)
        deleted.append(checkpoint_id)
        run.save()
    run.save(phase=DONE)
    run.store.finish(run.key.id, ok=True)
    LOG.info("Checkpoint completed: checkpoint=%s plan=%s volumes=%d expired=%s", run.key.id,
             run.cp["plan_id"], len(run.resources["volumes"]), ",".join(deleted) or "-")
    return Outcome.done(result=run.key.id)


ACTIONS = {"discover": _discover, "recover": _recover, "images": _images,
           "quiesce": _quiesce, "backup": _backup, "export": _export, "cleanup": _cleanup,
           "retention": _retention}


def reconcile(key, env):
    """Move one checkpoint (key.id) as far as it goes now."""
    run = _Run(key, env.shared)
    if run.cp is None or run.plan is None:
        return Outcome.done()
    try:
        for _ in range(len(ACTIONS) + 2):
            action = next_action(run.cp)
            if action is None:
                return Outcome.done(result=key.id)
            if action == "discover":
                _discover(run)
                if run.cp["phase"] == WINDOW:
                    _window(run)
                continue
            outcome = ACTIONS[action](run)
            if outcome is not None:
                return outcome
    except client_errors.RegionRejected as exc:
        run.save()
        if run.cp["phase"] == WINDOW:
            raise TemporaryError(str(exc)) from exc
        run.fail(f"{run.cp['phase']}: {exc}")
    except client_errors.RegionError as exc:
        run.save()
        raise TemporaryError(f"{run.cp['phase']}: {exc}") from exc
    return Outcome.requeue_after(env.shared.opts.poll_interval)
