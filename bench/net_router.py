"""East-west router jobs (issue 17): time from "interface added at the top" to "every pod's
routes converged" and Neutron writes per pod, over simulated pods or on a devcloud.

Simulated (default): each pod is the in-memory Neutron of
tests/functional/test_net_router_jobs.py with a fixed latency per call (`--latency`,
seconds: what one Neutron API call costs); one network (its own /24) per pod on one top
router. Printed per size: the first run (every pod configured), the run after one more
pod's interface is added (every pod's routes updated), and a redo (nothing changed), each
with its wall time and writes per pod.

    python -m bench.net_router --pods 2,3,6 --latency 0.05

Devcloud (`--devcloud BASE`, an API-only devcloud: RegionOne the top, the other regions
the pods, az1, az2, ...): the same three steps on real Neutron API servers, the interfaces
added through a multisite-gateway process (which registers the jobs), each run of the
router's work item in this process (as an engine runs it, without its scan delay), then
every pod's bottom router read from its own Neutron and checked against the routes the
top implies. Side by side, in the same run: the same add_router_interface straight to the
top's Neutron, and one router write straight to a pod's Neutron (p50 of 5).

    python -m bench.net_router --devcloud .devcloud4 --pods 2,3
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from multisite import conf as ms_conf  # noqa: E402
from multisite.db import migration  # noqa: E402
from multisite.engine import controller  # noqa: E402
from multisite.objects import jobs, pods  # noqa: E402
from multisite.reconcilers import Key, net_router  # noqa: E402
from tests.functional import test_net_router_jobs as fake  # noqa: E402


class Slow(fake.FakeClient):
    """Every call costs `latency` seconds."""

    latency = 0.0

    def _check(self, region, write=False):
        time.sleep(self.latency)
        super()._check(region, write)


def run_once(conf, world, router):
    client = Slow(world)
    env = controller.Env(shared=client, conf=conf, engine_id="bench")
    started = time.monotonic()
    jobs.create(conf, project_id=fake.PROJECT, job_type="configure_route",
                resource={"router_id": router})
    outcome = net_router.reconcile(Key(net_router.KIND, router), env)
    assert outcome.status == "done", outcome
    return time.monotonic() - started, dict(client.writes)


def size(conf, count):
    conf.set_override("connection", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite",
                      group="database")
    migration.db_sync(conf)
    pods.create(conf, name="RegionOne")
    names = [f"Pod{i}" for i in range(1, count + 2)]      # one more for the added pod
    for i, name in enumerate(names, 1):
        pods.create(conf, name=name, az_name=f"az{i}")
    world = fake.FakeNeutrons()
    router = fake.seed_top(world, [(f"az{i}", f"10.{i}.0.0/24") for i in range(1, count + 1)])
    first = run_once(conf, world, router)
    fake.seed_top(world, [(f"az{count + 1}", f"10.{count + 1}.0.0/24")])
    added = run_once(conf, world, router)
    redo = run_once(conf, world, router)
    return first, added, redo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", default="2,3,6")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--devcloud", metavar="BASE",
                        help="run on this API-only devcloud instead of simulated pods")
    args = parser.parse_args(argv)
    if args.devcloud:
        from bench import net_router_devcloud
        return net_router_devcloud.main(args.devcloud, [int(c) for c in
                                                        args.pods.split(",")])
    Slow.latency = args.latency
    conf = ms_conf.CONF
    conf([], project="multisite", default_config_files=[])
    print(f"latency per Neutron call {args.latency * 1000:.0f} ms")
    print(f"{'pods':>4} {'first_s':>8} {'writes/pod':>10} {'+1 pod_s':>9} "
          f"{'writes old/new pod':>18} {'redo_s':>7} {'redo writes':>11}")
    for count in (int(c) for c in args.pods.split(",")):
        (t1, w1), (t2, w2), (t3, w3) = size(conf, count)
        new = f"Pod{count + 1}"
        old = sorted({v for k, v in w2.items() if k != new})
        print(f"{count:>4} {t1:>8.2f} {'/'.join(map(str, sorted(set(w1.values())))):>10} "
              f"{t2:>9.2f} {'/'.join(map(str, old)) + ' / ' + str(w2.get(new)):>18} "
              f"{t3:>7.2f} {sum(w3.values()):>11}", flush=True)


if __name__ == "__main__":
    main()
