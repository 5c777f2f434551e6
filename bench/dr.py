"""Checkpoints on the devcloud's full profile: pause window vs the slowest snapshot, and the
checkpoint's time for 1, 4 and 8 servers (issue 19's benchmark), on real Nova and Cinder.

Per size N: N servers booted from volumes in RegionOne, each with a data volume attached
(2N volumes; two groups), a protection plan (method pause) and one checkpoint run by the
checkpoint kind's real code in this process (SQLite, the real DR client with the devcloud's
admin account) until completed. Side by side:

* `direct_snap_s`: one online snapshot of one attached volume, alone (the direct call:
  create, poll until available, with the same poll interval), made before the checkpoint;
* `window_s`, `slowest_snap_s`, `snaps_in_series_s` (the sum of the window's snapshots:
  what a window taking them one after the other would last), `window/slowest`, and the
  issue's goal `1.2 x slowest + 1 s`;
* `checkpoint_s`: from the request to completed (discover, window, backups of every
  snapshot, export/import into RegionTwo, snapshots deleted).

    MULTISITE_DEVCLOUD_FULL_BASE=/work/shared/full nice -n 10 python -m bench.dr --sizes 1,4,8

Everything it made is deleted afterwards (servers, volumes, backups in both regions).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import dr_checkpoint  # noqa: E402
from multisite import conf as ms_conf  # noqa: E402
from multisite.clients import dr as dr_client  # noqa: E402
from multisite.db import migration  # noqa: E402
from multisite.devcloud import layout as L  # noqa: E402
from multisite.engine import dr as dr_env  # noqa: E402
from multisite.objects import protection_plans  # noqa: E402
from multisite.reconcilers import Key  # noqa: E402
from multisite.reconcilers.dr import plan as plan_kind  # noqa: E402
from tests.integration.dr_vnf import admin_project_id, boot_vnf, unlimited_volumes  # noqa: E402
from tests.integration.usage import DevCloud  # noqa: E402

R1, R2 = "RegionOne", "RegionTwo"


def direct_snapshot(client, volume_id, poll):
    """One online snapshot alone: seconds until available (then deleted, waited for)."""
    started = time.monotonic()
    snapshot_id = client.create_snapshot(volume_id, name="bench-dr-direct")
    while (status := (client.snapshot(snapshot_id) or {}).get("status")) != "available":
        if status == "error":
            raise RuntimeError(f"direct snapshot {snapshot_id} failed")
        time.sleep(poll)
    took = time.monotonic() - started
    client.delete_snapshot(snapshot_id)
    while client.snapshot(snapshot_id) is not None:
        time.sleep(poll)
    return took


def run(size, args, conf, cloud, project):
    conn = project.connect(R1)
    t0 = time.monotonic()
    names = [f"vm-{i}" for i in range(size)]
    servers, volumes, teardown = boot_vnf(conn, names, data=names, cidr="10.62.0.0/24",
                                          wait=600)
    booted = time.monotonic() - t0
    env = types.SimpleNamespace(shared=dr_env.DrEnv(conf), attempts=1, item=None)
    cp = None
    try:
        client = dr_client.for_region(conf, R1)
        direct = direct_snapshot(client, volumes[names[0]].id, args.poll)
        half = max(1, size // 2)
        groups = [[servers[n].name for n in names[:half]],
                  [servers[n].name for n in names[half:]]] if size > 1 else [
            [servers[names[0]].name]]
        plan = protection_plans.create(
            conf, project_id=project.id, user_id=project.user_id, name=f"bench-{size}",
            source_region=R1, backup_region=R2, groups=groups, method="pause", retention=3)
        plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], R1), env)
        found = protection_plans.get(conf, plan["id"])
        assert found["status"] == "ready", found["problems"]
        cp, total, snaps = dr_checkpoint.checkpoint(conf, plan["id"], env, R1)
        return {"servers": size, "volumes": len(snaps), "booted": booted, "direct": direct,
                "window": cp["window"]["seconds"], "slowest": max(snaps), "sum": sum(snaps),
                "total": total}
    finally:
        for vol in (cp or {}).get("resources", {}).get("volumes", []):
            if vol.get("imported_backup_id"):
                dr_client.for_region(conf, R2).delete_backup(vol["imported_backup_id"])
            if vol.get("backup_id"):
                dr_client.for_region(conf, R1).delete_backup(vol["backup_id"])
        teardown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8")
    parser.add_argument("--base", default=os.environ.get("MULTISITE_DEVCLOUD_FULL_BASE"),
                        help="the full devcloud's state directory")
    parser.add_argument("--poll", type=float, default=0.25,
                        help="[dr] poll_interval (seconds between status reads)")
    args = parser.parse_args()
    if not args.base:
        parser.error("--base (or MULTISITE_DEVCLOUD_FULL_BASE) is required")
    cloud = DevCloud(args.base, [R1, R2])
    tmp = tempfile.mkdtemp()
    conf = ms_conf.CONF
    conf([], project="multisite", default_config_files=[])
    conf.set_override("connection", f"sqlite:///{tmp}/bench.sqlite", group="database")
    conf.set_override("poll_interval", args.poll, group="dr")
    for name, value in (("auth_uri", cloud.keystone_url), ("admin_username", L.ADMIN_USER),
                        ("admin_password", L.ADMIN_PASSWORD),
                        ("admin_tenant", L.ADMIN_PROJECT)):
        conf.set_override(name, value, group="cache")
    migration.db_sync(conf)
    unlimited_volumes(cloud, admin_project_id(cloud))
    project = cloud.create_project()
    unlimited_volumes(cloud, project.id, regions=(R1,))
    print(f"{'servers':>7} {'volumes':>7} {'boot_s':>7} {'direct_snap_s':>13} {'window_s':>9} "
          f"{'slowest_snap_s':>14} {'snaps_in_series_s':>17} {'window/slowest':>14} "
          f"{'goal_s':>7} {'checkpoint_s':>12}", flush=True)
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            r = run(size, args, conf, cloud, project)
            print(f"{r['servers']:>7} {r['volumes']:>7} {r['booted']:>7.1f} "
                  f"{r['direct']:>13.3f} {r['window']:>9.3f} {r['slowest']:>14.3f} "
                  f"{r['sum']:>17.3f} {r['window'] / r['slowest']:>14.2f} "
                  f"{1.2 * r['slowest'] + 1:>7.2f} {r['total']:>12.3f}", flush=True)
    finally:
        cloud.delete_project(project)


if __name__ == "__main__":
    main()
