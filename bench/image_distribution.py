"""Image distribution against the devcloud's real Glance: one image of --size-mib (1 GiB by
default) copied from RegionOne to every other region of the devcloud (3 targets on a
4-region devcloud) by a `multisite-engine` process, side by side with the same copies done
with the `openstack` client, in the same run.

Printed (with the load average before and after each figure):
- direct, 1 target: `openstack image save` from RegionOne + `openstack image create --file`
  in the first target (s);
- direct, N targets: one download + one upload per target (N x (save + create): what an
  operator does region after region); the save is measured once per target;
- multisite, 1 target: the image_copy kind, from the copy row written to `active` (s);
- multisite, N targets (fan-out): the N rows, to all active; the copies running at once
  share one read of the source (reconcilers/image_fanout.py: a spool file each upload
  follows at its own pace), and the number of source reads is printed (from the engine's
  log); [image_distribution] region_concurrency is --region-concurrency (default N: every
  copy at once);
- the engine's peak RSS growth while copying (sampled from /proc every 20 ms);
- auto (--auto-mib, 100 MiB): seconds from `active` in the source (the upload returned)
  to `active` in every target, the engine woken by the image.activate notification.

The engine runs as its own process on a temporary SQLite database (fake:// RPC: it finds
the rows by its scan every 0.2 s, which is inside every figure). Goals (issue 15): 1
target <= 1.2x direct, N targets <= 1.5x one target, RSS growth <= 64 MiB.

Usage: MULTISITE_DEVCLOUD_BASE=... python -m bench.image_distribution [--size-mib 1024]
       [--auto-mib 100] [--region-concurrency N]
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

R1 = "RegionOne"
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


def _engine_conf(tmp, db_url, cloud, pool, concurrency):
    urls = "\n".join(f"region_transport_url = {r}={cloud.transport_url(r)}"
                     for r in cloud.regions)
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
region_concurrency = {concurrency}
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


def _cpu(pid):
    """CPU seconds (user + system) the process has used so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _glance_cpu(regions):
    """CPU seconds used so far by each region's Glance (its whole process group, from
    the devcloud's pid files)."""
    groups = {}
    for index, region in enumerate(regions, 1):
        with contextlib.suppress(OSError, ValueError):
            groups[int(open(os.path.join(BASE, "run", f"r{index}-glance.pid")).read())] = region
    used = dict.fromkeys(regions, 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        region = groups.get(int(fields[2]))              # process group
        if region is not None:
            used[region] += (int(fields[11]) + int(fields[12])) / tick
    return used


def _cpu_line(engine_cpu, glance_before, glance_after, targets, wall):
    """The phase's CPU: engine, source and target Glances, and what it means on this
    machine's cores: the wall time those CPU seconds need at the least."""
    source = glance_after[R1] - glance_before[R1]
    target = sum(glance_after[r] - glance_before[r] for r in targets)
    total = engine_cpu + source + target
    return (f"      CPU: engine {engine_cpu:.1f} s, source Glance {source:.1f} s, target "
            f"Glance{'s' if len(targets) > 1 else ''} {target:.1f} s; {total:.1f} CPU-s "
            f"on {os.cpu_count()} cores needs >= {total / os.cpu_count():.1f} s "
            f"(wall {wall:.1f} s)")


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


def _load():
    return f"load {os.getloadavg()[0]:.1f}"


def _direct(cloud, user, tmp, image_id, name, targets, made):
    """(seconds for the first target, seconds for all): one save + one create per target."""
    per_target = []
    for region in targets:
        saved = os.path.join(tmp, "saved")
        started = time.monotonic()
        _openstack(cloud, user, R1, "image", "save", "--file", saved, image_id)
        made.append((region, _openstack(
            cloud, user, region, "image", "create", "--file", saved, "--disk-format", "raw",
            "--container-format", "bare", "-f", "value", "-c", "id", name + "-direct")))
        per_target.append(time.monotonic() - started)
        os.unlink(saved)
    return per_target[0], sum(per_target)


def _wait_active(cloud, image_id, regions):
    while True:
        states = []
        for region in regions:
            try:
                states.append(cloud.admin_connection(region).image.get_image(image_id).status)
            except Exception:
                states.append(None)
        if all(state == "active" for state in states):
            return
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--auto-mib", type=int, default=100)
    parser.add_argument("--region-concurrency", type=int, default=None)
    args = parser.parse_args()
    cloud = DevCloud.from_base(__import__("pathlib").Path(BASE))
    targets = [r for r in cloud.regions if r != R1]
    first = targets[0]
    concurrency = args.region_concurrency or len(targets)
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
    lines = []
    try:
        _blob(blob, args.size_mib)
        image_id = _openstack(cloud, user, R1, "image", "create", "--file", blob, "--disk-format",
                              "raw", "--container-format", "bare", "-f", "value", "-c", "id",
                              name)
        made.append((R1, image_id))
        os.unlink(blob)
        # direct: what an operator does without Multisite, region after region
        before = _load()
        direct_one, direct_all = _direct(cloud, user, tmp, image_id, name, targets, made)
        lines.append(f"  direct openstack save+create, 1 target   : {direct_one:8.2f} s")
        lines.append(f"  direct, {len(targets)} targets (save+create each)  : "
                     f"{direct_all:8.2f} s  ({before} -> {_load()})")

        log = open(os.path.join(tmp, "engine.log"), "wb")  # noqa: SIM115
        engine = subprocess.Popen(
            [sys.executable, "-m", "multisite.cmd.engine", "--config-file",
             _engine_conf(tmp, db_url, cloud, f"bench-images-{uuid.uuid4().hex[:6]}",
                          concurrency)],
            stdout=log, stderr=subprocess.STDOUT)
        time.sleep(5)                                   # imports, listeners
        peak = Peak(engine.pid)
        before, cpu, glance = _load(), _cpu(engine.pid), _glance_cpu(cloud.regions)
        one = _copy(CONF, project, image_id, [first])
        cpu_one = _cpu(engine.pid) - cpu
        cpu_one_line = _cpu_line(cpu_one, glance, _glance_cpu(cloud.regions), [first], one)
        made.append((first, image_id))
        lines.append(f"  multisite image_copy, 1 target           : {one:8.2f} s  "
                     f"({one / direct_one:.2f}x direct; goal <= 1.2x) ({before} -> {_load()}; "
                     f"engine CPU {cpu_one:.1f} s)")
        lines.append(cpu_one_line)
        # fan-out: the same image again to every target at once (the first target's copy
        # deleted first; Glance keeps a deleted id, so that copy gets the row's next id)
        for region in targets:
            with contextlib.suppress(Exception):
                cloud.admin_connection(region).image.delete_image(image_id)
        for copy in rows.copies_of(CONF, image_id=image_id):
            rows.delete_copy(CONF, copy["id"])
        before, cpu, glance = _load(), _cpu(engine.pid), _glance_cpu(cloud.regions)
        fan = _copy(CONF, project, image_id, targets)
        cpu_fan = _cpu(engine.pid) - cpu
        cpu_fan_line = _cpu_line(cpu_fan, glance, _glance_cpu(cloud.regions), targets, fan)
        made += [(c["region"], c["target_id"]) for c in rows.copies_of(CONF, image_id=image_id)]
        growth = peak.stop()
        log.flush()
        with open(log.name, errors="replace") as fh:
            reads = sum(1 for line in fh if "Image source read started" in line)
        lines.append(f"  multisite image_copy, {len(targets)} targets          : {fan:8.2f} s  "
                     f"({fan / one:.2f}x one target, goal <= 1.5x; {fan / direct_all:.2f}x "
                     f"direct {len(targets)} targets) ({before} -> {_load()}; engine CPU "
                     f"{cpu_fan:.1f} s)")
        lines.append(cpu_fan_line)
        lines.append(f"  source reads, 1 target then {len(targets)} targets   : {reads:8d} "
                     "(one per copy run without the fan-out)")
        lines.append(f"  engine peak RSS growth while copying     : {growth / MIB:8.1f} MiB "
                     "(goal <= 64)")

        # auto, woken by image.activate
        rows.set_distribution(CONF, project_id=project, image_id=None, mode="auto",
                              source=R1, targets=targets)
        small = os.path.join(tmp, "small")
        _blob(small, args.auto_mib)
        before = _load()
        auto_id = _openstack(cloud, user, R1, "image", "create", "--file", small, "--disk-format",
                             "raw", "--container-format", "bare", "-f", "value", "-c", "id",
                             name + "-auto")
        active = time.monotonic()
        made += [(r, auto_id) for r in cloud.regions]
        _wait_active(cloud, auto_id, targets)
        auto = time.monotonic() - active
        os.unlink(small)
        lines.append(f"  auto {args.auto_mib} MiB, source active -> active in {len(targets)} "
                     f"targets: {auto:.2f} s (woken by image.activate) ({before} -> {_load()})")
    finally:
        print(f"\nimage distribution, {args.size_mib} MiB, RegionOne -> {', '.join(targets)}, "
              f"devcloud real Glance, region_concurrency {concurrency}, {os.cpu_count()} CPUs"
              f" (engine log: {tmp}/engine.log)")
        print("\n".join(lines))
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
