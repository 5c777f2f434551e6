"""Restore time (RTO) of a checkpoint over simulated regions: the 3-server VNF, and more.

The restore kind's real code (multisite/reconcilers/dr/restore.py, SQLite) runs against the
unit tests' in-memory regions, whose target settles after simulated latencies: a volume
restored from a backup is available `--restore-ms` after the request, a server ACTIVE
`--boot-ms` after its create, a volume attached `--attach-ms` after the call. Printed side
by side: the measured RTO and the same work done one call after the other, each waited
for (what a script that restores by hand does). The VNF is 2 groups: the first half of the
servers with a data volume each (the databases), then the rest. Simulated latencies, not
the devcloud: this shows the shape (volumes restored together, a group's servers booted
together), not Cinder's or Nova's speed.

    python -m bench.dr_restore --sizes 3,8 --restore-ms 2000 --boot-ms 1500
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import dr_checkpoint  # noqa: E402
from multisite.clients import compute  # noqa: E402
from multisite.engine import dr as dr_env  # noqa: E402
from multisite.objects import restores  # noqa: E402
from multisite.reconcilers import Key  # noqa: E402
from multisite.reconcilers.dr import restore as restore_kind  # noqa: E402
from tests.unit.reconcilers.fake_dr import FakeClient  # noqa: E402
from tests.unit.reconcilers.fake_regions import FakeCloud  # noqa: E402


class SettlingClient(FakeClient):
    """The target: volumes and servers settle when their simulated time has passed."""

    def __init__(self, sites, region, args, project_id=None):
        super().__init__(sites, region, project_id)
        self.args = args
        self.ready = sites.__dict__.setdefault("ready_at", {})

    def restore_backup(self, backup_id, *, name):
        vid = super().restore_backup(backup_id, name=name)
        self.ready[vid] = time.monotonic() + self.args.restore_ms / 1000
        return vid

    def create_server(self, **kw):
        sid = super().create_server(**kw)
        self.ready[sid] = time.monotonic() + self.args.boot_ms / 1000
        return sid

    def attach_volume(self, server_id, volume_id):
        super().attach_volume(server_id, volume_id)
        self.sites.volumes[self.region][volume_id]["status"] = "attaching"
        self.sites.volumes[self.region][volume_id]["settle"] = "in-use"
        self.ready[volume_id] = time.monotonic() + self.args.attach_ms / 1000

    def volume_settles(self, found):
        if time.monotonic() >= self.ready.get(found["id"], 0):
            super().volume_settles(found)

    def server(self, server_id):
        found = self.sites.servers[self.region].get(server_id)
        if found is not None and time.monotonic() < self.ready.get(server_id, 0):
            return dict(found)
        return super().server(server_id)


def run(size, args, conf):
    shape = types.SimpleNamespace(pause_ms=0, snapshot_ms=10, backup_ms=0)
    made = dr_checkpoint.run(size, shape, conf, data_volumes=max(1, 2 * size // 3))
    sites = made["sites"]
    cloud = FakeCloud(regions=("RegionOne", "RegionTwo"))
    cloud.install(types.SimpleNamespace(setattr=setattr))
    sites.has_keypair = lambda region, name, user: (user, name) in cloud.keypairs[region]
    sites.install_network(types.SimpleNamespace(setattr=setattr))   # security groups
    env = types.SimpleNamespace(shared=dr_env.DrEnv(
        conf, client_factory=lambda c, region, project_id=None: SettlingClient(
            sites, region, args, project_id),
        regions=lambda: sites.regions), attempts=1, item=None)
    restore = restores.create(conf, made["checkpoint_id"], region="RegionTwo", mode="drill")
    while True:
        outcome = restore_kind.reconcile(Key(restore_kind.KIND, restore["id"], "RegionTwo"),
                                         env)
        if outcome.status == "done":
            break
        time.sleep(outcome.delay or 0)
    restore = restores.get(conf, restore["id"])
    assert restore["status"] == "completed", restore["error"]
    found = restore["resources"]
    attaches = sum(1 for v in found["volumes"] if not v["bootable"])
    in_series = (len(found["volumes"]) * args.restore_ms + len(found["servers"]) * args.boot_ms
                 + attaches * args.attach_ms) / 1000
    return {"servers": size, "volumes": len(found["volumes"]), "rto": restore["rto_seconds"],
            "series": in_series}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,8")
    parser.add_argument("--restore-ms", type=float, default=2000.0)
    parser.add_argument("--boot-ms", type=float, default=1500.0)
    parser.add_argument("--attach-ms", type=float, default=500.0)
    args = parser.parse_args()
    conf = dr_checkpoint.setup(args)
    _ = compute   # the sync reconcilers' compute client: FakeCloud replaces for_region
    print(f"{'servers':>7} {'volumes':>7} {'rto_s':>7} {'one_by_one_s':>12} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(size, args, conf)
        print(f"{r['servers']:>7} {r['volumes']:>7} {r['rto']:>7.3f} {r['series']:>12.3f} "
              f"{r['rto'] / r['series']:>6.2f}")


if __name__ == "__main__":
    main()
