"""Event feed figures: ingestion from RabbitMQ into the database, and GET /v2/events
latency over a large stored history.

ingest: pre-loads --count notifications on a private RabbitMQ vhost (made with
rabbitmqctl) — with --connections parallel AMQP publishers sending oslo.messaging's body
format (default), or with oslo.messaging's Notifier (--publisher oslo) — then starts one
region's listener and times how long it takes to store them all (notifications/s, and
per CPU second of the process), into SQLite or MariaDB.
query: stores --events events (100 projects, 20 regions, one per second of time) with
Core executemany, then times --samples GET /v2/events filtered by project and a one-hour
time range through the in-process API (handler, policy, query, JSON): p50/p99 of the
wall time and of the request's CPU time (thread time: independent of the machine's load).

    .venv/bin/python -m bench.events ingest --count 20000 [--db mysql] [--engines 2]
    .venv/bin/python -m bench.events query --events 1000000
"""

import argparse
import datetime
import json
import multiprocessing
import random
import statistics
import subprocess
import tempfile
import threading
import time
import uuid

import amqp
import oslo_messaging as messaging
import sqlalchemy as sa
import webob
from oslo_context import context as oslo_context

from multisite import rpc
from multisite.api import app as api_app
from multisite.conf import CONF
from multisite.db import api as db_api
from multisite.db import migration, models
from multisite.engine import event_feed

PROJECTS = [uuid.UUID(int=i + 1).hex for i in range(100)]
T0 = datetime.datetime(2026, 1, 1)


def _configure(workdir, db):
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    url = f"sqlite:///{workdir}/bench.sqlite"
    if db == "mysql":
        name = f"bench_events_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306/")
        with engine.begin() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
        url = f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    CONF.set_override("connection", url, group="database")
    CONF.set_override("transport_url", "fake://")
    CONF.set_override("auth_strategy", "noauth")
    migration.db_sync(CONF)
    return CONF, url


def _drop(url):
    if url.startswith("mysql"):
        name = url.rsplit("/", 1)[1]
        engine = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306/")
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP DATABASE {name}"))


def _count(conf):
    with db_api.get_engine(conf).connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(models.Event)).scalar()


class _Counted:
    """The feed's metrics hooks, counting settled notifications."""

    settled = 0

    def events_received(self, region, stored, duplicates, invalid):
        self.settled += stored + duplicates + invalid

    def events_failed(self, region, count):
        pass


def _publish_oslo(conf, url, count):
    transport = messaging.get_notification_transport(conf, url=url)
    notifier = messaging.Notifier(transport, publisher_id="compute.bench",
                                  driver="messagingv2", topics=["notifications"])
    for i in range(count):
        project = PROJECTS[i % len(PROJECTS)]
        notifier.info(oslo_context.RequestContext(project_id=project, overwrite=False),
                      "compute.instance.create.end",
                      {"instance_id": str(uuid.UUID(int=i)), "tenant_id": project})


def _envelope(i):
    """The body oslo.messaging's Notifier (messagingv2) sends: the message with its
    context keys, JSON inside a JSON envelope."""
    project = PROJECTS[i % len(PROJECTS)]
    message = {"message_id": str(uuid.uuid4()), "publisher_id": "compute.bench",
               "event_type": "compute.instance.create.end", "priority": "INFO",
               "payload": {"instance_id": str(uuid.UUID(int=i)), "tenant_id": project},
               "timestamp": str(datetime.datetime.utcnow()),
               "_context_project_id": project, "_context_user_id": None,
               "_context_request_id": f"req-{uuid.uuid4()}", "_unique_id": uuid.uuid4().hex}
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)})


def _publish_raw(vhost, count, connections):
    """Pre-load the queue with `connections` AMQP connections in parallel (the Notifier
    alone publishes near 200/s here, slower than the listener takes them)."""
    def publish(indexes):
        connection = amqp.Connection("127.0.0.1:5672", virtual_host=vhost)
        connection.connect()
        channel = connection.channel()
        for i in indexes:
            channel.basic_publish(amqp.Message(_envelope(i), content_type="application/json",
                                               content_encoding="utf-8"),
                                  exchange="openstack", routing_key="notifications.info")
        connection.close()
    threads = [threading.Thread(target=publish, args=(range(n, count, connections),))
               for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _engine(db_url, bus_url, batch_size, go, stop, out, ready):
    """One engine process's event feed (as every engine of the listener pool runs one)."""
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", db_url, group="database")
    CONF.set_override("transport_url", "fake://")
    CONF.set_override("region_transport_url", [f"RegionOne={bus_url}"], group="notifications")
    CONF.set_override("batch_size", batch_size, group="notifications")
    counted = _Counted()
    feed = event_feed.EventFeed(CONF, metrics=counted)
    ready.put(True)
    go.wait()
    cpu = time.process_time()
    feed.start()
    stop.wait()
    out.put((counted.settled, time.process_time() - cpu))
    feed.stop()


def _ingest_in_engines(args, db_url, bus_url, conf):
    """(seconds, CPU seconds of all engines) for --engines processes on one pool queue."""
    context = multiprocessing.get_context("spawn")
    go, stop, out, ready = (context.Event(), context.Event(), context.Queue(),
                            context.Queue())
    engines = [context.Process(target=_engine,
                               args=(db_url, bus_url, args.batch_size, go, stop, out, ready))
               for _ in range(args.engines)]
    for engine in engines:
        engine.start()
    for _ in engines:                  # imports and configuration, before the clock starts
        ready.get(timeout=300)
    started = time.monotonic()
    go.set()
    while _count(conf) < args.count and time.monotonic() - started < args.timeout:
        time.sleep(0.2)
    took = time.monotonic() - started
    stop.set()
    results = [out.get(timeout=60) for _ in engines]
    for engine in engines:
        engine.join(30)
    print(f"per engine (settled, CPU s): {results}")
    return took, sum(c for _n, c in results)


def ingest(args):
    vhost = f"ms-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(["rabbitmqctl", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True, capture_output=True)
    url = f"rabbit://guest:guest@127.0.0.1:5672/{vhost}"
    with tempfile.TemporaryDirectory() as workdir:
        conf, db_url = _configure(workdir, args.db)
        try:
            conf.set_override("region_transport_url", [f"RegionOne={url}"],
                              group="notifications")
            conf.set_override("batch_size", args.batch_size, group="notifications")
            conf.set_override("listeners_per_region", args.listeners, group="notifications")
            feed = event_feed.EventFeed(conf)
            feed.start()      # creates the pool's queue; then stop and let messages pile up
            while feed.listeners["RegionOne"].state != "listening":
                time.sleep(0.1)
            feed.stop()
            started = time.monotonic()
            if args.publisher == "oslo":
                _publish_oslo(conf, url, args.count)
            else:
                _publish_raw(vhost, args.count, args.connections)
            published = time.monotonic() - started
            if args.engines > 1:
                took, cpu = _ingest_in_engines(args, db_url, url, conf)
            else:
                counted = _Counted()
                feed = event_feed.EventFeed(conf, metrics=counted)
                cpu, started = time.process_time(), time.monotonic()
                feed.start()
                # counted in memory (a COUNT(*) every poll would cost the process CPU too)
                while counted.settled < args.count and time.monotonic() - started < args.timeout:
                    time.sleep(0.02)
                took, cpu = time.monotonic() - started, time.process_time() - cpu
                feed.stop()
            stored = _count(conf)
        finally:
            subprocess.run(["rabbitmqctl", "delete_vhost", vhost], capture_output=True)
            db_api.dispose_all()
            _drop(db_url)
    print("| db | engines x listeners | count | batch | publish s | ingest s | events/s | cpu s | "
          "events/cpu-s | stored |")
    print(f"| {args.db} | {args.engines} x {args.listeners} | {args.count} | {args.batch_size} | "
          f"{published:.1f} | {took:.2f} | {stored / took:.0f} | {cpu:.2f} | "
          f"{stored / cpu:.0f} | {stored} |")


def _fill(conf, total, batch=20000):
    rng = random.Random(7)
    engine = db_api.get_engine(conf)
    table = models.Event.__table__
    for start in range(0, total, batch):
        rows = []
        for i in range(start, min(total, start + batch)):
            when = T0 + datetime.timedelta(seconds=i)
            rows.append({"message_id": f"bench-{i}", "origin": "region",
                         "region": f"Region{rng.randrange(20):03d}",
                         "project_id": PROJECTS[rng.randrange(len(PROJECTS))],
                         "event_type": "compute.instance.create.end",
                         "resource_id": str(uuid.UUID(int=i)), "priority": "INFO",
                         "generated_at": when, "received_at": when,
                         "payload": f'{{"n": {i}}}'})
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)


def query(args):
    with tempfile.TemporaryDirectory() as workdir:
        conf, db_url = _configure(workdir, args.db)
        try:
            started = time.monotonic()
            _fill(conf, args.events)
            print(f"stored {args.events} events in {time.monotonic() - started:.1f} s")
            app = api_app.build_app(conf)
            rng = random.Random(11)
            span = args.events
            times, cpu = [], []
            for _ in range(args.samples):
                project = PROJECTS[rng.randrange(len(PROJECTS))]
                since = T0 + datetime.timedelta(seconds=rng.randrange(span - 3600))
                until = since + datetime.timedelta(hours=1)
                url = (f"/v2/events?project_id={project}&since={since.isoformat()}Z"
                       f"&until={until.isoformat()}Z&limit=100")
                req = webob.Request.blank(url, headers={"X-Project-Id": project,
                                                        "X-Roles": "admin"})
                t, c = time.monotonic(), time.thread_time()
                resp = req.get_response(app)
                times.append(time.monotonic() - t)
                cpu.append(time.thread_time() - c)
                assert resp.status_int == 200, resp.body
            times.sort()
            p50 = statistics.median(times) * 1000
            p99 = times[int(len(times) * 0.99) - 1] * 1000
            # wall time follows the machine's load; the request's own CPU time does not
            cpu.sort()
            c50 = statistics.median(cpu) * 1000
            c99 = cpu[int(len(cpu) * 0.99) - 1] * 1000
            print(f"| {args.db} | {args.events} | {args.samples} | {p50:.1f} | {p99:.1f} | "
                  f"{c50:.1f} | {c99:.1f} |")
        finally:
            db_api.dispose_all()
            _drop(db_url)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("ingest")
    one.add_argument("--count", type=int, default=20000)
    one.add_argument("--batch-size", type=int, default=200)
    one.add_argument("--engines", type=int, default=1,
                     help="engine processes consuming the pool's queue together")
    one.add_argument("--listeners", type=int, default=1, help="listeners_per_region")
    one.add_argument("--publisher", choices=["raw", "oslo"], default="raw",
                     help="raw: pre-load with --connections AMQP connections (oslo.messaging's "
                          "body format); oslo: oslo.messaging's Notifier, one connection")
    one.add_argument("--connections", type=int, default=4)
    one.add_argument("--timeout", type=float, default=600)
    one.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    two = sub.add_parser("query")
    two.add_argument("--events", type=int, default=1000000)
    two.add_argument("--samples", type=int, default=300)
    two.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    args = parser.parse_args(argv)
    (ingest if args.what == "ingest" else query)(args)


if __name__ == "__main__":
    main()
