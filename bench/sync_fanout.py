"""Time for one keypair (and optionally one image) to reach R target regions through
os-sync, against one single-region create; prints the ratio.

Needs the devcloud (`multisite-devcloud up`). Runs the API and an engine in-process on a
temporary SQLite database. Usage: python -m bench.sync_fanout [--image-mib 100] [--rounds 5]
"""

import argparse
import io
import json
import os
import statistics
import tempfile
import time
import uuid

import webob

from multisite import rpc
from multisite.api import app as api_app
from multisite.conf import CONF
from multisite.db import migration
from multisite.engine import service, sync_manager
from tests.integration.usage import PUBLIC_KEY, DevCloud

R1 = "RegionOne"


def _setup(tmp):
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", f"sqlite:///{tmp}/bench.sqlite", group="database")
    CONF.set_override("transport_url", "fake://")
    CONF.set_override("auth_strategy", "noauth")
    CONF.set_override("backend_url", f"file://{tmp}/locks", group="coordination")
    CONF.set_override("periodic_enable", False, group="scheduler")
    for name, value in (("auth_uri", "http://127.0.0.1:5000/v3"), ("admin_username", "admin"),
                        ("admin_password", "adminpw"), ("admin_tenant", "admin")):
        CONF.set_override(name, value, group="cache")
    sync_manager.register_opts(CONF)
    CONF.set_override("scan_interval", 0.05, group="sync")
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


def _sync(app, project, user, rtype, resource, targets):
    started = time.monotonic()
    job = _call(app, project, user, "POST", "/", {"resource_set": {
        "resource_type": rtype, "resources": [resource], "source": R1, "target": targets,
        "force": "True"}})["job_status"]["id"]
    while True:
        rows = _call(app, project, user, "GET", f"/{job}?verbose=true")["job_set"]
        if all(r["sync_status"] != "IN_PROGRESS" for r in rows):
            elapsed = time.monotonic() - started
            assert all(r["sync_status"] == "SUCCESS" for r in rows), rows
            return elapsed
        time.sleep(0.01)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--image-mib", type=int, default=0)
    args = parser.parse_args()
    cloud = DevCloud.from_base(os.environ.get("MULTISITE_DEVCLOUD_BASE", ".devcloud"))
    project = cloud.create_project()
    targets = [r for r in cloud.regions if r != R1]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine, app = _setup(tmp)
            conn = project.connect(R1)
            singles, fanouts = [], []
            for _ in range(args.rounds):
                name = f"bench-{uuid.uuid4().hex[:8]}"
                started = time.monotonic()
                conn.compute.create_keypair(name=name, public_key=PUBLIC_KEY)
                singles.append(time.monotonic() - started)
                fanouts.append(_sync(app, project.id, project.user_id, "keypair", name,
                                     targets))
            single, fan = statistics.median(singles), statistics.median(fanouts)
            print(f"keypair: single create in {R1} {single * 1000:.0f} ms; sync to "
                  f"{len(targets)} targets {fan * 1000:.0f} ms (median of {args.rounds}); "
                  f"ratio {fan / single:.2f}")
            if args.image_mib:
                data = os.urandom(args.image_mib * 1024 * 1024)
                started = time.monotonic()
                img = conn.image.create_image(name="bench-img", data=io.BytesIO(data),
                                              disk_format="raw", container_format="bare",
                                              validate_checksum=False)
                single = time.monotonic() - started
                fan = _sync(app, project.id, project.user_id, "image", img.id, targets)
                print(f"image {args.image_mib} MiB: single create+upload {single:.2f} s; "
                      f"sync to {len(targets)} targets {fan:.2f} s; ratio {fan / single:.2f}")
            engine.stop(graceful=False)
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
