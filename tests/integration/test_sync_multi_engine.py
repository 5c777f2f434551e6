"""os-sync with two `multisite-engine` processes over RabbitMQ and one shared database.

The API and both engines are separate processes (tests.integration.test_quota_engine's
Deployment: a private RabbitMQ vhost, a SQLite file). Four jobs, 10 rows in all (3 keypairs
and 2 forced image copies, to 2 targets each), run against the devcloud. A new job's rows
are handed to the engine that validated it (the API's RPC call goes to either engine), so
several jobs are what spreads work over both engines. Every row must end SUCCESS exactly
once, both engines must have worked, and no target may hold a duplicate (a forced image
copy gets a new id, so a row run twice would show as 2 images).
"""

import collections
import contextlib
import io
import json
import os
import re
import shutil
import time
import urllib.request

import pytest

from tests.conftest import require_service
from tests.integration.test_quota_engine import Deployment, _rabbit_up
from tests.integration.usage import PUBLIC_KEY, unique

pytestmark = [pytest.mark.integration, pytest.mark.rabbit]
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
DONE = re.compile(r"sync row done type=(\w+) resource=(\S+) source=(\S+) target=(\S+) "
                  r"job=([\w-]+)")


@pytest.fixture
def deployment(tmp_path, devcloud):
    require_service("RabbitMQ", _rabbit_up(), "127.0.0.1:5672")
    require_service("rabbitmqctl", shutil.which("rabbitmqctl") is not None,
                    "needed to create a private vhost")
    dep = Deployment(tmp_path, engines=2)
    with open(dep.conf_file, "a") as conf:
        # 2 rows at a time per engine; each job goes to the engine that validated it
        conf.write("[sync]\nworkers = 2\nscan_interval = 0.2\nlease = 20\n")
    try:
        dep.start()
        yield dep
    finally:
        dep.stop()


def _request(dep, project, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"http://127.0.0.1:{dep.port}/v1.0/{project.id}/os-sync{path}", data=data,
        method=method, headers={"X-Project-Id": project.id, "X-User-Id": project.user_id,
                                "X-Roles": "member", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def test_two_engines_run_each_row_exactly_once(deployment, devcloud, fresh_project):
    project = fresh_project
    conn = project.connect(R1)
    keypairs = [unique("kp") for _ in range(3)]
    images = {}
    try:
        for name in keypairs:
            conn.compute.create_keypair(name=name, public_key=PUBLIC_KEY)
        for _ in range(2):
            name = unique("img")
            image = conn.image.create_image(
                name=name, data=io.BytesIO(os.urandom(1024 * 1024)), disk_format="raw",
                container_format="bare", allow_duplicates=True, validate_checksum=False)
            images[image.id] = name
        entries = [
            {"resource_type": "keypair", "resources": keypairs[:2], "source": R1,
             "target": [R2, R3], "force": "False"},
            {"resource_type": "keypair", "resources": keypairs[2:], "source": R1,
             "target": [R2, R3], "force": "False"},
        ] + [{"resource_type": "image", "resources": [image_id], "source": R1,
              "target": [R2, R3], "force": "True"} for image_id in images]
        job_ids = []
        for entry in entries:
            status, body = _request(deployment, project, "POST", "", {"resource_set": entry})
            assert status == 200, body
            job_ids.append(body["job_status"]["id"])
        deadline = time.monotonic() + 180
        rows = []
        for job_id in job_ids:
            while True:
                job_rows = _request(deployment, project, "GET",
                                    f"/{job_id}?verbose=true")[1]["job_set"]
                if all(r["sync_status"] != "IN_PROGRESS" for r in job_rows):
                    break
                assert time.monotonic() < deadline, job_rows
                time.sleep(0.2)
            rows.extend((job_id, row) for row in job_rows)
        logs = deployment.log("engine0") + deployment.log("engine1")
        assert len(rows) == 10
        assert [r["sync_status"] for _, r in rows] == ["SUCCESS"] * 10, (rows, logs[-4000:])
        time.sleep(0.3)
        jobs = _request(deployment, project, "GET", "")[1]["job_set"]
        assert sorted(j["sync_status"] for j in jobs if j["id"] in job_ids) == ["SUCCESS"] * 4

        # exactly once: one "done" per row over both engines, and both engines worked
        done = collections.Counter()
        by_engine = {}
        for name in ("engine0", "engine1"):
            found = [m.groups() for m in DONE.finditer(deployment.log(name))
                     if m.group(5) in job_ids]
            by_engine[name] = len(found)
            done.update(found)
        expected = {(r["resource_type"], r["resource"], r["source_region"],
                     r["target_region"], job_id) for job_id, r in rows}
        assert set(done) == expected and set(done.values()) == {1}, done
        assert all(by_engine.values()), by_engine

        # no duplicates in the targets
        for region in (R2, R3):
            target = project.connect(region)
            for name in keypairs:
                assert target.compute.get_keypair(name).public_key == PUBLIC_KEY
            names = collections.Counter(i.name for i in target.image.images(owner=project.id))
            assert {n: names[n] for n in images.values()} == {n: 1 for n in images.values()}
    finally:
        for region in (R1, R2, R3):
            target = project.connect(region)
            for name in keypairs:
                with contextlib.suppress(Exception):
                    target.compute.delete_keypair(name, ignore_missing=True)
            for image in list(target.image.images(owner=project.id)):
                with contextlib.suppress(Exception):
                    target.image.delete_image(image)
