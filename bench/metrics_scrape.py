"""GET /metrics scrape time with many regions and projects known.

Seeds --regions regions (six probed services and four capacity kinds each), --projects
projects with global limits and a quota sync status per project and region, and
--events events, then times --samples scrapes through the in-process API (policy,
queries, text format) and checks the body parses with prometheus_client.parser: cold
(the database read every scrape), cached ([metrics] state_cache_seconds) and read ahead
(scrapes further apart than the TTL, answered from the state the refresher thread read),
wall time and the request's own CPU (thread) time.

    .venv/bin/python -m bench.metrics_scrape --regions 50 --projects 10000
"""

import argparse
import datetime
import statistics
import tempfile
import time
import uuid

import webob
from prometheus_client import parser

from multisite import rpc
from multisite.api import app as api_app
from multisite.conf import CONF
from multisite.db import api as db_api
from multisite.db import migration, models
from multisite.objects import events, regions

SERVICES = ("identity", "compute", "volume", "network", "image", "notifications")


def _seed(conf, args):
    now = regions.utcnow()
    for r in range(args.regions):
        name = f"Region{r:03d}"
        regions.save_probe(conf, name, [{"service": s, "reachable": True, "latency_ms": 5.0,
                                         "failures": 0, "probed_at": now} for s in SERVICES])
        for kind in ("compute", "volume", "network", "image"):
            regions.save_capacity(conf, name, kind, figures={"a": 1, "b": 2, "c": 3},
                                  error=None, now=now)
    engine = db_api.get_engine(conf)
    projects = [uuid.UUID(int=i + 1).hex for i in range(args.projects)]
    with engine.begin() as connection:
        connection.execute(models.Quota.__table__.insert(), [
            {"project_id": p, "resource": "cores", "hard_limit": 10} for p in projects])
        statuses = [{"project_id": p, "region": f"Region{r:03d}", "status": "SUCCESS",
                     "failures": 0, "last_sync_at": now}
                    for p in projects for r in range(args.regions)]
        for start in range(0, len(statuses), 50000):
            connection.execute(models.ProjectSyncStatus.__table__.insert(),
                               statuses[start:start + 50000])
    events.store(conf, [{"message_id": f"m{i}", "event_type": "x",
                         "generated_at": now - datetime.timedelta(seconds=i)}
                        for i in range(args.events)])


def run(args):
    with tempfile.TemporaryDirectory() as workdir:
        rpc.register_opts(CONF)
        CONF([], project="multisite", default_config_files=[])
        CONF.set_override("connection", f"sqlite:///{workdir}/bench.sqlite", group="database")
        CONF.set_override("transport_url", "fake://")
        CONF.set_override("auth_strategy", "noauth")
        CONF.set_override("enabled", True, group="metrics")
        migration.db_sync(CONF)
        _seed(CONF, args)
        app = api_app.build_app(CONF)
        headers = {"X-Project-Id": uuid.uuid4().hex, "X-Roles": "admin"}
        rows = []
        # cold: every scrape reads the database ([metrics] state_cache_seconds = 0);
        # cached: the default TTL, as a Prometheus scraping every few seconds sees it
        # read ahead: scrapes spaced 2 x the TTL apart (as Prometheus scrapes every 15-60 s
        # with the 5 s default): each finds the state read by the background refresher
        for label, ttl, gap, count in (
                ("cold", 0.0, 0.0, args.samples),
                ("cached", CONF.metrics.state_cache_seconds, 0.0, args.samples),
                ("read ahead, scrape every 2 x TTL", args.ahead_ttl, 2 * args.ahead_ttl,
                 args.ahead_samples)):
            CONF.set_override("state_cache_seconds", ttl, group="metrics")
            times, cpu, body = [], [], ""
            for index in range(count):
                if gap and index:
                    time.sleep(gap)
                started, thread = time.monotonic(), time.thread_time()
                resp = webob.Request.blank("/metrics", headers=headers).get_response(app)
                times.append(time.monotonic() - started)
                cpu.append(time.thread_time() - thread)
                assert resp.status_int == 200
                body = resp.text
            series = sum(len(f.samples) for f in parser.text_string_to_metric_families(body))
            times.sort()
            cpu.sort()
            rows.append(f"| {label} | {args.regions} | {args.projects} | "
                        f"{args.projects * args.regions} | {series} | "
                        f"{statistics.median(times) * 1000:.1f} | "
                        f"{times[int(len(times) * 0.99) - 1] * 1000:.1f} | "
                        f"{statistics.median(cpu) * 1000:.1f} |")
    print("| scrape | regions | projects | sync rows | series | p50 ms | p99 ms | cpu p50 ms |")
    print("\n".join(rows))


def main(argv=None):
    parser_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser_.add_argument("--regions", type=int, default=50)
    parser_.add_argument("--projects", type=int, default=10000)
    parser_.add_argument("--events", type=int, default=1000)
    parser_.add_argument("--samples", type=int, default=50)
    parser_.add_argument("--ahead-ttl", type=float, default=0.5,
                         help="TTL of the read-ahead measurement (scrapes 2 x apart)")
    parser_.add_argument("--ahead-samples", type=int, default=20)
    run(parser_.parse_args(argv))


if __name__ == "__main__":
    main()
