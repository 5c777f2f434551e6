"""Image distribution against the devcloud's real Glance: one image of --size-mib (1 GiB by
default) copied by a `multisite-engine` process, side by side with the same copy done with
the `openstack` client (download to a file, then upload), in the same run.

Printed:
- direct: `openstack image save` + `openstack image create --file` to one region (s);
- multisite, 1 target: the image_copy kind, from the copy row written to `active` (s);
- multisite, 2 targets (fan-out, the devcloud has 3 regions): both rows, to both active;
- the engine's peak RSS growth while copying (sampled from /proc every 20 ms);
- auto (--auto-mib, 100 MiB): seconds from `active` in the source (the upload returned)
  to `active` in every target, the engine woken by the image.activate notification.

The engine runs as its own process on a temporary SQLite database (fake:// RPC: it finds
the rows by its scan every 0.2 s, which is inside every figure). Goals (issue 15): 1
target <= 1.2x direct, 2 targets <= 1.5x one target, RSS growth <= 64 MiB.

Usage: python -m bench.image_distribution [--size-mib 1024] [--auto-mib 100]
"""

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from multisite.conf import CONF
from multisite.db import migration
from multisite.devcloud import layout
from multisite.objects import images as rows
from tests.integration.usage import DevCloud

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
MIB = 1024 * 1024
BASE = str(layout.default_base())


def _blob(path, mib):
    chunk = os.urandom(MIB)
    with open(path, "wb") as fh:
        for i in range(mib):
            fh.write(chunk[:-8] + i.to_bytes(8, "big"))


def _openstack(cloud, user, region, *args):
    env = dict(os.environ, OS_AUTH_URL=cloud.auth_url, OS_USERNAME=user.username,
               OS_PASSWORD=user.password, OS_PROJECT_NAME=user.name,
               OS_USER_DOMAIN_NAME="Default",
               OS_PROJECT_DOMAIN_NAME="Default", OS_IDENTITY_API_VERSION="3",
               OS_REGION_NAME=region, OS_INTERFACE="public")
    env.pop("OS_CLOUD", None)
    return subprocess.run([str(cloud.base / "venv" / "bin" / "openstack"), *args], env=env,
                          check=True, capture_output=True, text=True).stdout.strip()


def _engine_conf(tmp, db_url, cloud, pool):
    urls = "\n".join(f"region_transport_url = {r}={cloud.transport_url(r)}"
                     for r in (R1, R2, R3))
    path = os.path.join(tmp, "engine.conf")
    with open(path, "w") as fh:
        fh.write(f"""[DEFAULT]
transport_url = fake://
host = bench-images
report_interval = 1
[database]
connection = {db_url}
[cache]
auth_uri = {cloud.auth_url}
admin_username = admin
admin_password = adminpw
admin_tenant = admin
[image_distribution]
scan_interval = 0.2
audit_interval = 3600
[notifications]
{urls}
pool = {pool}
batch_timeout = 0.1
[scheduler]
periodic_enable = false
[coordination]
backend_url = file://{tmp}/locks
""")
    return path


def _rss(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Peak:
    def __init__(self, pid):
        self.pid, self.base, self.peak = pid, _rss(pid), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, _rss(self.pid))
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return max(self.peak - self.base, 0)


def _copy(conf, project, image_id, regions):
    started = time.monotonic()
    made = [rows.ensure_copy(conf, project_id=project, image_id=image_id, source=R1,
                             region=r, origin="lazy")[0] for r in regions]
    while True:
        states = [rows.get_copy(conf, c["id"])["state"] for c in made]
        if all(s in ("active", "failed") for s in states):
            assert set(states) == {"active"}, [rows.get_copy(conf, c["id"]) for c in made]
            return time.monotonic() - started
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--auto-mib", type=int, default=100)
    args = parser.parse_args()
    cloud = DevCloud.from_base(__import__("pathlib").Path(BASE))
    user = cloud.create_project()          # a project of its own: auto copies only its images
    project = user.id
    tmp = tempfile.mkdtemp(prefix="bench-images-")
    db_url = f"sqlite:///{tmp}/multisite.sqlite"
    CONF([], project="multisite", default_config_files=[])
    CONF.set_override("connection", db_url, group="database")
    migration.db_sync(CONF)
    name = f"bench-img-{uuid.uuid4().hex[:8]}"
    blob = os.path.join(tmp, "blob")
    made = []
    engine = None
    try:
        _blob(blob, args.size_mib)
        image_id = _openstack(cloud, user, R1, "image", "create", "--file", blob, "--disk-format",
                              "raw", "--container-format", "bare", "-f", "value", "-c", "id",
                              name)
        made.append((R1, image_id))
        os.unlink(blob)
        # direct: what an operator does without Multisite, for one target
        saved = os.path.join(tmp, "saved")
        started = time.monotonic()
        _openstack(cloud, user, R1, "image", "save", "--file", saved, image_id)
        direct_id = _openstack(cloud, user, R3, "image", "create", "--file", saved, "--disk-format",
                               "raw", "--container-format", "bare", "-f", "value", "-c", "id",
                               name + "-direct")
        direct = time.monotonic() - started
        made.append((R3, direct_id))
        os.unlink(saved)

        log = open(os.path.join(tmp, "engine.log"), "wb")  # noqa: SIM115
        engine = subprocess.Popen(
            [sys.executable, "-m", "multisite.cmd.engine", "--config-file",
             _engine_conf(tmp, db_url, cloud, f"bench-images-{uuid.uuid4().hex[:6]}")],
            stdout=log, stderr=subprocess.STDOUT)
        time.sleep(5)                                   # imports, listeners
        peak = Peak(engine.pid)
        one = _copy(CONF, project, image_id, [R2])
        made.append((R2, image_id))
        # fan-out: the same image again to both targets at once (R2's copy deleted first;
        # Glance keeps a deleted id, so that copy gets the row's next id)
        for region in (R2, R3):
            with contextlib.suppress(Exception):
                cloud.admin_connection(region).image.delete_image(image_id)
        for copy in rows.copies_of(CONF, image_id=image_id):
            rows.delete_copy(CONF, copy["id"])
        fan = _copy(CONF, project, image_id, [R2, R3])
        made += [(R2, c["target_id"]) for c in rows.copies_of(CONF, image_id=image_id)
                 if c["region"] == R2] + [(R3, c["target_id"]) for c in rows.copies_of(
                     CONF, image_id=image_id) if c["region"] == R3]
        growth = peak.stop()

        # auto, woken by image.activate
        rows.set_distribution(CONF, project_id=project, image_id=None, mode="auto",
                              source=R1, targets=[R2, R3])
        small = os.path.join(tmp, "small")
        _blob(small, args.auto_mib)
        auto_id = _openstack(cloud, user, R1, "image", "create", "--file", small, "--disk-format",
                             "raw", "--container-format", "bare", "-f", "value", "-c", "id",
                             name + "-auto")
        active = time.monotonic()
        made += [(r, auto_id) for r in (R1, R2, R3)]
        while True:
            states = []
            for region in (R2, R3):
                try:
                    states.append(cloud.admin_connection(region).image.get_image(
                        auto_id).status)
                except Exception:
                    states.append(None)
            if states == ["active", "active"]:
                break
            time.sleep(0.1)
        auto = time.monotonic() - active

        size = f"{args.size_mib} MiB"
        print(f"\nimage distribution, {size}, devcloud real Glance (load "
              f"{os.getloadavg()[0]:.1f})")
        print(f"  direct openstack save+create, 1 target : {direct:8.2f} s")
        print(f"  multisite image_copy, 1 target         : {one:8.2f} s  "
              f"({one / direct:.2f}x direct; goal <= 1.2x)")
        print(f"  multisite image_copy, 2 targets        : {fan:8.2f} s  "
              f"({fan / one:.2f}x one target; goal <= 1.5x)")
        print(f"  engine peak RSS growth while copying   : {growth / MIB:8.1f} MiB (goal <= 64)")
        print(f"  auto {args.auto_mib} MiB, source active -> active in 2 targets: "
              f"{auto:.2f} s (woken by image.activate)")
    finally:
        if engine is not None:
            engine.terminate()
            engine.wait(timeout=30)
        for region, image in made:
            with contextlib.suppress(Exception):
                cloud.admin_connection(region).image.delete_image(image)
        with contextlib.suppress(Exception):
            rows.delete_distribution(CONF, project, None)
        cloud.delete_project(user)


if __name__ == "__main__":
    main()
