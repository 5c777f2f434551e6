"""Checkpoint pause window and duration over a simulated region: 1, 4 and 8 servers.

The checkpoint kind's real code (multisite/reconcilers/dr/checkpoint.py, on a SQLite
database) runs against the in-memory region of the unit tests, whose calls sleep for
simulated latencies: pause `--pause-ms`, each snapshot a random time in
[`--snapshot-ms`/2, `--snapshot-ms`], each backup `--backup-ms`. Printed per size, side
by side: the measured window, the slowest single snapshot, the sum of the snapshots (what
a window with snapshots one after the other would take), the pause/unpause share, and the
whole checkpoint. Simulated latencies, not the devcloud: this shows the shape (parallel
snapshots inside the window, parallel-free backups), not Cinder's speed.

    python -m bench.dr_checkpoint --sizes 1,4,8 --snapshot-ms 800
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from multisite import conf as ms_conf  # noqa: E402
from multisite.db import migration  # noqa: E402
from multisite.engine import dr as dr_env  # noqa: E402
from multisite.objects import checkpoints, protection_plans  # noqa: E402
from multisite.reconcilers import Key  # noqa: E402
from multisite.reconcilers.dr import checkpoint as cp_kind  # noqa: E402
from multisite.reconcilers.dr import plan as plan_kind  # noqa: E402
from tests.unit.reconcilers.fake_dr import PROJECT, USER, FakeClient, FakeSites  # noqa: E402


class SlowClient(FakeClient):
    def __init__(self, sites, region, args):
        super().__init__(sites, region)
        self.args = args

    def pause(self, server_id):
        time.sleep(self.args.pause_ms / 1000)
        super().pause(server_id)

    def unpause(self, server_id):
        time.sleep(self.args.pause_ms / 1000)
        super().unpause(server_id)

    def create_snapshot(self, volume_id, *, name):
        time.sleep(random.uniform(self.args.snapshot_ms / 2, self.args.snapshot_ms) / 1000)
        return super().create_snapshot(volume_id, name=name)

    def create_backup(self, volume_id, **kw):
        time.sleep(self.args.backup_ms / 1000)
        return super().create_backup(volume_id, **kw)


def checkpoint(conf, plan_id, env, region="RegionOne"):
    """One checkpoint of the plan run to its end by the checkpoint kind's reconcile, in this
    process: (the completed checkpoint, seconds it took, its snapshots' seconds)."""
    cp_id = checkpoints.create(conf, plan_id)["id"]
    started = time.monotonic()
    while True:
        outcome = cp_kind.reconcile(Key(cp_kind.KIND, cp_id, region), env)
        if outcome.status == "done":
            break
        time.sleep(outcome.delay or 0)
    total = time.monotonic() - started
    cp = checkpoints.get(conf, cp_id)
    assert cp["status"] == "completed", cp["error"]
    return cp, total, [v["snapshot_seconds"] for v in cp["resources"]["volumes"]]


def run(size, args, conf, *, data_volumes=None):
    """One checkpoint of `size` servers (the first `data_volumes` with a data volume; all
    by default)."""
    sites = FakeSites()
    names = [f"vm-{i}" for i in range(size)]
    for index, name in enumerate(names):
        sites.add_server("RegionOne", name, ip=f"10.60.0.{10 + index}",
                         data_volume=data_volumes is None or index < data_volumes)
    env = types.SimpleNamespace(shared=dr_env.DrEnv(
        conf, client_factory=lambda c, region: SlowClient(sites, region, args),
        regions=lambda: sites.regions), attempts=1, item=None)
    half = max(1, size // 2)
    plan = protection_plans.create(
        conf, project_id=PROJECT, user_id=USER, name=f"bench-{size}",
        source_region="RegionOne", backup_region="RegionTwo",
        groups=[names[:half], names[half:]] if size > 1 else [names], method="pause",
        retention=3)
    plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], "RegionOne"), env)
    cp, total, snaps = checkpoint(conf, plan["id"], env)
    return {"checkpoint_id": cp["id"], "sites": sites,
            "servers": size, "volumes": len(snaps), "window": cp["window"]["seconds"],
            "slowest": max(snaps), "sum": sum(snaps),
            "pauses": 2 * size * args.pause_ms / 1000, "total": total}


def setup(args):
    """The configuration on a fresh SQLite database (shared with bench.dr_restore)."""
    random.seed(1)
    tmp = tempfile.mkdtemp()
    conf = ms_conf.CONF
    conf([], project="multisite", default_config_files=[])
    conf.set_override("connection", f"sqlite:///{tmp}/bench.sqlite", group="database")
    conf.set_override("poll_interval", 0.05, group="dr")
    migration.db_sync(conf)
    return conf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8")
    parser.add_argument("--pause-ms", type=float, default=50.0)
    parser.add_argument("--snapshot-ms", type=float, default=800.0)
    parser.add_argument("--backup-ms", type=float, default=100.0)
    args = parser.parse_args()
    conf = setup(args)
    print(f"{'servers':>7} {'volumes':>7} {'window_s':>9} {'slowest_snap_s':>14} "
          f"{'snaps_in_series_s':>17} {'pause+unpause_s':>15} {'window/slowest':>14} "
          f"{'checkpoint_s':>12}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(size, args, conf)
        print(f"{r['servers']:>7} {r['volumes']:>7} {r['window']:>9.3f} {r['slowest']:>14.3f} "
              f"{r['sum']:>17.3f} {r['pauses']:>15.3f} {r['window'] / r['slowest']:>14.2f} "
              f"{r['total']:>12.3f}")


if __name__ == "__main__":
    main()
