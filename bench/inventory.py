"""GET /v2/inventory's region fan-out on the devcloud: all regions at once vs the slowest one.

Per round: each region read alone (its ten listings in parallel, as the inventory does),
then every region at once (the inventory's read, refresh, no cache), through the same
clients code the engine uses; also the slowest single listing call. Prints the medians
and the ratio (goal: all regions <= 1.5 x the slowest region alone).

    python -m bench.inventory --config-file multisite.conf --project <id> --rounds 5
"""

import argparse
import statistics
import time

from multisite import clients
from multisite.clients import inventory as listing
from multisite.conf import CONF
from multisite.engine import inventory


def timed(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--user", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    CONF(["--config-file", args.config_file], project="multisite")
    cloud = clients.Cloud(CONF)
    reader = inventory.InventoryReader(CONF, cloud)
    regions = cloud.regions(args.project)
    listers = listing.listers(cloud, regions)
    reader.read(args.project, user_id=args.user, refresh=True)      # warm: token, pools
    alone, together, single = [], [], []
    for _ in range(args.rounds):
        per_region = {}
        for name, lister in listers.items():
            calls = {(name, kind): (lambda lst=lister, k=kind: lst.inventory(
                k, project_id=args.project, user_id=args.user)) for kind in listing.TYPES}
            per_region[name] = timed(lambda c=calls: listing.fan_out(c, timeout=60))
            for kind in listing.TYPES:
                lister_call = listers[name]
                single.append(timed(lambda lc=lister_call, k=kind: lc.inventory(
                    k, project_id=args.project, user_id=args.user)))
        alone.append(max(per_region.values()))
        together.append(timed(lambda: reader.read(args.project, user_id=args.user,
                                                  refresh=True)))
    slow, all_at_once = statistics.median(alone), statistics.median(together)
    print(f"regions={len(listers)} rounds={args.rounds}")
    print(f"slowest single listing call (max over rounds): {max(single) * 1000:.0f} ms")
    print(f"slowest region alone (median of rounds):      {slow * 1000:.0f} ms")
    print(f"all regions at once (median of rounds):       {all_at_once * 1000:.0f} ms")
    print(f"ratio: {all_at_once / slow:.2f}")


if __name__ == "__main__":
    main()
