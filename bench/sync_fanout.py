"""Time for one keypair (and optionally one image) to reach R target regions through
os-sync, against one single-region create; prints the ratio.

Needs the devcloud (`multisite-devcloud up`). Runs the API and an engine in-process on a
temporary SQLite database. The clock starts just before the POST (so it includes the
validation RPC call and the source read). Two stops are printed: "done", when the last
row of the job was recorded finished (its updated_at in the database, i.e. when the
keypair was in every target), and "seen", when a GET of the job first showed no row
IN_PROGRESS; the job is polled every `--poll` seconds (20 ms). The poller shares the
process (and its GIL) with the API and the engine, so polling faster slows the job.

Transport: `--transport rabbit` (the default when RabbitMQ answers on 127.0.0.1:5672 and
`rabbitmqctl` is there) uses a private vhost, created and deleted by the bench, as a
deployment would; `--transport fake` is oslo.messaging's in-process driver, whose server
polls its queues every 50 ms (each call or cast then waits up to 50 ms: an artefact of
the driver, not of Multisite).

Also printed, as the floor no sync service can beat: the same work done directly with the
engine's region clients and no Multisite in between (read the source keypair, then create
it in the R targets in parallel threads).

Usage: python -m bench.sync_fanout [--targets R] [--rounds 9] [--image-mib 100]
"""

import argparse
import contextlib
import datetime
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid

import sqlalchemy as sa
import webob

from multisite import rpc
from multisite.api import app as api_app
from multisite.clients import compute
from multisite.conf import CONF
from multisite.db import api as db_api
from multisite.db import migration, models
from multisite.engine import service
from tests.integration.usage import PUBLIC_KEY, DevCloud

R1 = "RegionOne"


def _rabbit_available():
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", 5672)) != 0:
            return False
    return shutil.which("rabbitmqctl") is not None


@contextlib.contextmanager
def _transport(kind):
    """The transport_url to use; a private RabbitMQ vhost lives as long as the bench."""
    if kind == "fake":
        yield "fake://"
        return
    vhost = f"multisite-bench-{uuid.uuid4().hex[:8]}"

    def ctl(*args):
        subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)

    ctl("add_vhost", vhost)
    try:
        ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"rabbit://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            ctl("delete_vhost", vhost)


def _setup(tmp, transport_url, auth_uri="http://127.0.0.1:5000/v3"):
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", f"sqlite:///{tmp}/bench.sqlite", group="database")
    CONF.set_override("transport_url", transport_url)
    CONF.set_override("auth_strategy", "noauth")
    CONF.set_override("backend_url", f"file://{tmp}/locks", group="coordination")
    CONF.set_override("periodic_enable", False, group="scheduler")
    for name, value in (("auth_uri", auth_uri), ("admin_username", "admin"),
                        ("admin_password", "adminpw"), ("admin_tenant", "admin")):
        CONF.set_override(name, value, group="cache")
    # the default scan interval: a job must start on the wake-up cast, not on a scan
    migration.db_sync(CONF)
    engine = service.EngineService(CONF)
    engine.start()
    return engine, api_app.build_app(CONF)


def _call(app, project, user, method, path, body=None):
    req = webob.Request.blank(f"/v1.0/{project}/os-sync{path}", method=method, headers={
        "X-Project-Id": project, "X-User-Id": user, "X-Roles": "member"})
    if body is not None:
        req.body = json.dumps(body).encode()
        req.content_type = "application/json"
    resp = req.get_response(app)
    return json.loads(resp.body)


def _sync(app, project, user, rtype, resource, targets, poll):
    """(done, seen) seconds after the POST; see the module docstring."""
    started_wall, started = time.time(), time.monotonic()
    job = _call(app, project, user, "POST", "/", {"resource_set": {
        "resource_type": rtype, "resources": [resource], "source": R1, "target": targets,
        "force": "True"}})["job_status"]["id"]
    while True:
        rows = _call(app, project, user, "GET", f"/{job}?verbose=true")["job_set"]
        if all(r["sync_status"] != "IN_PROGRESS" for r in rows):
            seen = time.monotonic() - started
            assert all(r["sync_status"] == "SUCCESS" for r in rows), rows
            assert len(rows) == len(targets), rows
            break
        time.sleep(poll)
    with db_api.session_scope(CONF) as session:
        last = session.scalar(sa.select(sa.func.max(models.ResourceSync.updated_at)).where(
            models.ResourceSync.job_id == job))
    done = last.replace(tzinfo=datetime.UTC).timestamp() - started_wall
    return done, seen


def _floor(user_id, source_name, name, targets):
    """Read the source keypair, then create it in every target at once, directly."""
    started = time.monotonic()
    kp = compute.for_region(CONF, R1).get_keypair(source_name, user_id=user_id)
    clients = [compute.for_region(CONF, t) for t in targets]
    threads = [threading.Thread(target=c.create_keypair, kwargs=dict(
        name=name, public_key=kp["public_key"], key_type=kp["type"], user_id=user_id))
        for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def _ms(values):
    return f"median {statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--targets", type=int, default=0,
                        help="number of target regions R (default: every region but "
                             f"{R1})")
    parser.add_argument("--transport", choices=("rabbit", "fake"), default=None)
    parser.add_argument("--poll", type=float, default=0.02)
    parser.add_argument("--image-mib", type=int, default=0)
    args = parser.parse_args()
    transport = args.transport or ("rabbit" if _rabbit_available() else "fake")
    cloud = DevCloud.from_base(os.environ.get("MULTISITE_DEVCLOUD_BASE", ".devcloud"))
    others = [r for r in cloud.regions if r != R1]
    if args.targets > len(others):
        parser.error(f"--targets {args.targets}: the devcloud has {len(cloud.regions)} "
                     f"regions, so at most {len(others)} targets "
                     f"(`multisite-devcloud up --regions {args.targets + 1}`)")
    targets = others[:args.targets or len(others)]
    project = cloud.create_project()
    try:
        with tempfile.TemporaryDirectory() as tmp, _transport(transport) as url:
            engine, app = _setup(tmp, url, cloud.keystone_url)  # the devcloud's port offset
            conn = project.connect(R1)
            conn.compute.keypairs()  # authenticate and discover before timing
            singles, floors, fanouts, seens = [], [], [], []
            for i in range(args.rounds + 1):
                name = f"bench-{uuid.uuid4().hex[:8]}"
                started = time.monotonic()
                conn.compute.create_keypair(name=name, public_key=PUBLIC_KEY)
                single = time.monotonic() - started
                floor = _floor(project.user_id, name, name + "-floor", targets)
                fanout, seen = _sync(app, project.id, project.user_id, "keypair", name,
                                     targets, args.poll)
                if i:  # round 0 warms the engine's session and connections
                    singles.append(single)
                    floors.append(floor)
                    fanouts.append(fanout)
                    seens.append(seen)
            single = statistics.median(singles)
            floor, fan = statistics.median(floors), statistics.median(fanouts)
            print(f"keypair, transport {transport}, R={len(targets)} ({', '.join(targets)}), "
                  f"{args.rounds} rounds:\n  single create in {R1} {_ms(singles)}\n"
                  f"  floor (direct read + {len(targets)} parallel creates) {_ms(floors)}, "
                  f"ratio {floor / single:.2f}\n"
                  f"  os-sync job done {_ms(fanouts)}, ratio {fan / single:.2f}\n"
                  f"  os-sync job seen by the poller {_ms(seens)}, "
                  f"ratio {statistics.median(seens) / single:.2f}")
            if args.image_mib:
                data = os.urandom(args.image_mib * 1024 * 1024)
                started = time.monotonic()
                img = conn.image.create_image(name="bench-img", data=io.BytesIO(data),
                                              disk_format="raw", container_format="bare",
                                              validate_checksum=False)
                single = time.monotonic() - started
                fan, _seen = _sync(app, project.id, project.user_id, "image", img.id,
                                   targets, args.poll)
                print(f"image {args.image_mib} MiB: single create+upload {single:.2f} s; "
                      f"sync to {len(targets)} targets {fan:.2f} s; ratio {fan / single:.2f}")
            engine.stop(graceful=False)
            rpc.cleanup()
    finally:
        for region in cloud.regions:
            c = project.connect(region)
            for kp in list(c.compute.keypairs()):
                c.compute.delete_keypair(kp)
            for img in list(c.image.images(owner=project.id)):
                c.image.delete_image(img)
        cloud.delete_project(project)


if __name__ == "__main__":
    main()
