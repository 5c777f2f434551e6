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
  snapshot, export/import into RegionTwo, snapshots deleted);
* `cpu_bench_s`, `cpu_cloud_s`: CPU seconds of this process and of the devcloud's
  services (every process of the process groups in `<base>/run/*.pid`) during the
  checkpoint, and the 1-minute load average before and after it.

Then (`--rto`, default 3; 0 skips) the issue's VNF of that many servers (the first two
with a data volume, groups [first two], [the rest]): a checkpoint, and a **drill** of it
restored by the restore kind into RegionTwo in a project of its own (the drill-into-a-
project path, `target_project_id`): its RTO (request to the last data volume attached),
with the same CPU and load columns.

    MULTISITE_DEVCLOUD_FULL_BASE=/work/shared/full nice -n 10 python -m bench.dr --sizes 1,4,8

Everything it made is deleted afterwards (servers, volumes, backups in both regions, the
drill's resources and projects).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import resource
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import dr_checkpoint  # noqa: E402
from multisite import conf as ms_conf  # noqa: E402
from multisite.clients import dr as dr_client  # noqa: E402
from multisite.db import migration  # noqa: E402
from multisite.engine import dr as dr_env  # noqa: E402
from multisite.objects import protection_plans, restores  # noqa: E402
from multisite.reconcilers import Key, PermanentError  # noqa: E402
from multisite.reconcilers.dr import plan as plan_kind  # noqa: E402
from multisite.reconcilers.dr import restore as restore_kind  # noqa: E402
from tests.integration.dr_vnf import (  # noqa: E402
    admin_project_id,
    admin_teardown,
    boot_vnf,
    delete_restore,
    dr_conf,
    unlimited_volumes,
)
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


class Meter:
    """CPU seconds of this process and of the devcloud's services, and the load average,
    between start() and stop()."""

    def __init__(self, base):
        self.groups = set()
        for pidfile in pathlib.Path(base, "run").glob("*.pid"):
            try:
                self.groups.add(int(pidfile.read_text().strip()))
            except ValueError:
                continue
        self.tick = os.sysconf("SC_CLK_TCK")

    def _cloud_cpu(self):
        total = 0
        for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in self.groups:       # pgrp
                total += int(fields[11]) + int(fields[12])   # utime + stime
        return total / self.tick

    @staticmethod
    def _own_cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def start(self):
        self.load0, self.own0, self.cloud0 = (os.getloadavg()[0], self._own_cpu(),
                                              self._cloud_cpu())

    def stop(self):
        return {"cpu_bench": self._own_cpu() - self.own0,
                "cpu_cloud": self._cloud_cpu() - self.cloud0,
                "load": f"{self.load0:.1f}->{os.getloadavg()[0]:.1f}"}


def _plan(conf, env, project, name, groups):
    plan = protection_plans.create(
        conf, project_id=project.id, user_id=project.user_id, name=name,
        source_region=R1, backup_region=R2, groups=groups, method="pause", retention=3)
    plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], R1), env)
    found = protection_plans.get(conf, plan["id"])
    assert found["status"] == "ready", found["problems"]
    return plan


def _delete_backups(conf, cp):
    for vol in (cp or {}).get("resources", {}).get("volumes", []):
        if vol.get("imported_backup_id"):
            dr_client.for_region(conf, R2).delete_backup(vol["imported_backup_id"])
        if vol.get("backup_id"):
            dr_client.for_region(conf, R1).delete_backup(vol["backup_id"])


def run(size, args, conf, cloud, project, meter):
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
        plan = _plan(conf, env, project, f"bench-{size}", groups)
        meter.start()
        cp, total, snaps = dr_checkpoint.checkpoint(conf, plan["id"], env, R1)
        return {"servers": size, "volumes": len(snaps), "booted": booted, "direct": direct,
                "window": cp["window"]["seconds"], "slowest": max(snaps), "sum": sum(snaps),
                "total": total, **meter.stop()}
    finally:
        _delete_backups(conf, cp)
        admin_teardown(cloud, servers, volumes, teardown)


def rto(size, args, conf, cloud, project, meter):
    """A checkpoint of a `size`-server VNF, then a drill of it into a project of its own in
    RegionTwo: the restore's report (RTO) with CPU and load."""
    names = ["db-1", "db-2", *(f"app-{i}" for i in range(1, size - 1))][:size]
    servers, volumes, teardown = boot_vnf(project.connect(R1), names, data=names[:2],
                                          cidr="10.64.0.0/24", wait=600)
    env = types.SimpleNamespace(shared=dr_env.DrEnv(conf), attempts=1, item=None)
    cp = restore_id = drill_project = None
    try:
        groups = [[servers[n].name for n in names[:2]]] + (
            [[servers[n].name for n in names[2:]]] if size > 2 else [])
        plan = _plan(conf, env, project, f"bench-rto-{size}", groups)
        cp, _total, _snaps = dr_checkpoint.checkpoint(conf, plan["id"], env, R1)
        drill_project = cloud.create_project()
        unlimited_volumes(cloud, drill_project.id, regions=(R2,))
        meter.start()
        restore_id = restores.create(conf, cp["id"], region=R2, mode="drill",
                                     target_project_id=drill_project.id)["id"]
        key = Key(restore_kind.KIND, restore_id, R2)
        while True:
            try:
                outcome = restore_kind.reconcile(key, env)
            except PermanentError:
                break
            if outcome.status == "done":
                break
            time.sleep(outcome.delay or 0)
        done = restores.get(conf, restore_id)
        measured = meter.stop()
        assert done["status"] == "completed", done["error"]
        owners = {s["project_id"] for s in cloud.admin_connection(R2).compute.servers(
            all_projects=True) if s.id in {x["id"] for x in done["resources"]["servers"]}}
        assert owners == {drill_project.id}, owners
        return {"servers": size, "volumes": len(done["resources"]["volumes"]),
                "rto": done["rto_seconds"], **measured}
    finally:
        if restore_id:
            delete_restore(conf, dr_client.for_region(conf, R2), restore_id)
        _delete_backups(conf, cp)
        admin_teardown(cloud, servers, volumes, teardown)
        if drill_project is not None:
            cloud.delete_project(drill_project)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8")
    parser.add_argument("--base", default=os.environ.get("MULTISITE_DEVCLOUD_FULL_BASE"),
                        help="the full devcloud's state directory")
    parser.add_argument("--poll", type=float, default=0.25,
                        help="[dr] poll_interval (seconds between status reads)")
    parser.add_argument("--rto", type=int, default=3, metavar="<servers>",
                        help="the VNF whose drill restore (RTO) is measured (0: none)")
    args = parser.parse_args()
    if not args.base:
        parser.error("--base (or MULTISITE_DEVCLOUD_FULL_BASE) is required")
    cloud = DevCloud(args.base, [R1, R2])
    tmp = tempfile.mkdtemp()
    conf = ms_conf.CONF
    conf([], project="multisite", default_config_files=[])
    conf.set_override("connection", f"sqlite:///{tmp}/bench.sqlite", group="database")
    conf.set_override("poll_interval", args.poll, group="dr")
    dr_conf(conf, cloud, poll_interval=args.poll, region_timeout=60.0)
    migration.db_sync(conf)
    unlimited_volumes(cloud, admin_project_id(cloud))
    project = cloud.create_project()
    unlimited_volumes(cloud, project.id, regions=(R1,))
    print(f"{'servers':>7} {'volumes':>7} {'boot_s':>7} {'direct_snap_s':>13} {'window_s':>9} "
          f"{'slowest_snap_s':>14} {'snaps_in_series_s':>17} {'window/slowest':>14} "
          f"{'goal_s':>7} {'checkpoint_s':>12} {'cpu_bench_s':>11} {'cpu_cloud_s':>11} "
          f"{'load':>10}", flush=True)
    meter = Meter(args.base)
    try:
        for size in (int(s) for s in args.sizes.split(",") if s):
            r = run(size, args, conf, cloud, project, meter)
            print(f"{r['servers']:>7} {r['volumes']:>7} {r['booted']:>7.1f} "
                  f"{r['direct']:>13.3f} {r['window']:>9.3f} {r['slowest']:>14.3f} "
                  f"{r['sum']:>17.3f} {r['window'] / r['slowest']:>14.2f} "
                  f"{1.2 * r['slowest'] + 1:>7.2f} {r['total']:>12.3f} "
                  f"{r['cpu_bench']:>11.1f} {r['cpu_cloud']:>11.1f} {r['load']:>10}",
                  flush=True)
        if args.rto:
            r = rto(args.rto, args, conf, cloud, project, meter)
            print(f"drill into its own project: {r['servers']} servers, {r['volumes']} "
                  f"volumes, RTO {r['rto']:.1f} s (cpu bench {r['cpu_bench']:.1f} s, "
                  f"devcloud {r['cpu_cloud']:.1f} s, load {r['load']})", flush=True)
    finally:
        cloud.delete_project(project)


if __name__ == "__main__":
    main()
