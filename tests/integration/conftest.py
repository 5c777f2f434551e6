"""Fixtures for integration tests against the devcloud (real Keystone + OpenStack regions).

* ``devcloud`` (session): brings ``multisite-devcloud up`` once per session (installing the
  service venv first if needed), or reuses a devcloud that is already up (also one started
  with another ``--base``: then ``MULTISITE_DEVCLOUD_BASE`` is set to that base). Regions:
  ``MULTISITE_DEVCLOUD_REGIONS`` (default 3). State dir: ``MULTISITE_DEVCLOUD_BASE``.
  Returns a :class:`tests.integration.usage.DevCloud`.
* ``fresh_project`` (function): a new project + member user, deleted after the test.
* ``usage`` (function): a :class:`tests.integration.usage.Usage` for ``fresh_project``; what
  it creates is deleted after the test.

With ``CI=true`` nothing is skipped: a devcloud that does not come up is an error. Elsewhere
``MULTISITE_SKIP_INTEGRATION=1`` skips these tests. A devcloud this session started is left
running (faster next time) unless ``CI=true`` or ``MULTISITE_DEVCLOUD_STOP=1``;
``MULTISITE_DEVCLOUD_KEEP=1`` keeps it even in CI (and it is never stopped under xdist).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from multisite.devcloud import install as inst
from multisite.devcloud import layout as L
from multisite.devcloud import services as S
from tests.integration.usage import DevCloud, Usage

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def _running_regions(layout: L.Layout) -> int:
    """Number of regions of a devcloud that is fully up and answering, else 0."""
    state = layout.read_state()
    n = int(state.get("regions", 0))
    if not n:
        return 0
    services = S.all_services(layout, n, state.get("db", "sqlite"),
                              profile=state.get("profile", "api"),
                              keystones=int(state.get("keystones", 1)),
                              keyagents=bool(state.get("keyagents")))
    for svc in services:
        if not svc.is_running() or not svc.answers(timeout=10):
            return 0
    return n


def _devcloud_cli(layout: L.Layout, *args: str, timeout: float) -> None:
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    logfile = layout.log_dir / "pytest-devcloud.log"
    cmd = [sys.executable, "-m", "multisite.devcloud", "--base", str(layout.base), *args]
    with open(logfile, "ab") as log:
        log.write(f"\n==== {time.ctime()} $ {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=timeout
        )
    if proc.returncode != 0:
        text = logfile.read_text(errors="replace").splitlines()[-60:]
        raise RuntimeError(
            f"`multisite-devcloud {' '.join(args)}` failed (exit {proc.returncode}); "
            f"log {logfile}:\n" + "\n".join(text)
        )


@pytest.fixture(scope="session")
def devcloud():
    if not CI and _flag("MULTISITE_SKIP_INTEGRATION"):
        pytest.skip("integration tests skipped: MULTISITE_SKIP_INTEGRATION=1 (devcloud not used)")
    layout = L.Layout(L.default_base())
    wanted = int(os.environ.get("MULTISITE_DEVCLOUD_REGIONS", "3"))
    started = False
    if _running_regions(layout) == 0:
        # a devcloud started from another checkout/base holds the ports: use that one, and make
        # L.default_base() (used by tests that look at the processes) point to it too
        other = S.running_base(layout.port_offset)
        if other is not None and other != layout.base and _running_regions(L.Layout(other)):
            os.environ["MULTISITE_DEVCLOUD_BASE"] = str(other)
            layout = L.Layout(other)
    if _running_regions(layout) == 0:
        # `up` installs the venv if needed, is idempotent and takes a lock, so several
        # pytest-xdist workers may all call it
        _devcloud_cli(layout, "up", "--regions", str(wanted), timeout=3600)
        started = True
        if _running_regions(layout) == 0:
            raise RuntimeError(f"devcloud in {layout.base} is not answering after `up`")
    cloud = DevCloud.from_base(layout.base)
    cloud.token()  # keystone really works (admin token)
    yield cloud
    stop = (CI or _flag("MULTISITE_DEVCLOUD_STOP")) and not _flag("MULTISITE_DEVCLOUD_KEEP")
    # under pytest-xdist another worker may still be using it: leave it up
    if started and stop and "PYTEST_XDIST_WORKER" not in os.environ:
        _devcloud_cli(layout, "down", timeout=300)


FULL_REGIONS = 3  # the gateway scenario: RegionOne the top region, two pods


@pytest.fixture(scope="session")
def devcloud_full():
    """A second devcloud with the ``full`` profile (servers boot, volumes attach, backups),
    MariaDB and two keystones (RegionTwo's own).

    It runs next to the API-only one: own base (``MULTISITE_DEVCLOUD_FULL_BASE``, default
    ``<repo>/.devcloud-full``) and ports shifted by ``MULTISITE_DEVCLOUD_FULL_PORT_OFFSET``
    (default 100). Brought up only by tests that ask for it: under ``CI=true`` or with
    ``MULTISITE_DEVCLOUD_FULL=1`` (otherwise they skip: it costs ~3 GB and minutes of CPU).
    """
    if not CI and not _flag("MULTISITE_DEVCLOUD_FULL"):
        pytest.skip("full-profile tests need MULTISITE_DEVCLOUD_FULL=1 (or CI=true)")
    base = os.environ.get("MULTISITE_DEVCLOUD_FULL_BASE") or str(L.repo_root() / ".devcloud-full")
    offset = int(os.environ.get("MULTISITE_DEVCLOUD_FULL_PORT_OFFSET", "100"))
    layout = L.Layout(base, offset)
    main_venv = L.Layout(L.default_base()).venv
    if not layout.venv.exists() and inst.is_installed(main_venv):
        # the same pinned packages: share the API devcloud's venv instead of a second install
        layout.base.mkdir(parents=True, exist_ok=True)
        layout.venv.symlink_to(main_venv)
    # tools/test.sh started it in the background for this run: this run's own to stop
    prestarted = os.environ.get("MULTISITE_DEVCLOUD_FULL_PRESTARTED")
    started = bool(prestarted) and Path(prestarted).resolve() == layout.base.resolve()
    if _running_regions(layout) < FULL_REGIONS or layout.read_state().get("profile") != "full":
        # (a background `up` still under way holds the base's lock: this one waits for it,
        # then finds everything running)
        _devcloud_cli(layout, "up", "--profile", "full", "--regions", str(FULL_REGIONS),
                      "--keystones", "2", "--port-offset", str(offset), timeout=3600)
        started = True
        if _running_regions(layout) < FULL_REGIONS:
            raise RuntimeError(f"full devcloud in {layout.base} is not answering after `up`")
    cloud = DevCloud.from_base(layout.base)
    cloud.token()
    yield cloud
    stop = (CI or _flag("MULTISITE_DEVCLOUD_STOP")) and not _flag("MULTISITE_DEVCLOUD_KEEP")
    if started and stop and "PYTEST_XDIST_WORKER" not in os.environ:
        # --purge: its MariaDB databases (devcloud<offset>_*) are named by the offset, not
        # the base, so a later run from another checkout must not find them
        _devcloud_cli(layout, "down", "--purge", timeout=300)
        _assert_nothing_left(layout)


def _assert_nothing_left(layout: L.Layout) -> None:
    """`down --purge` stopped every process and removed the vhosts and MariaDB databases."""
    import pymysql

    from multisite.devcloud import rabbit

    running = [s.name for s in S.known_services(layout) if s.is_running()]
    prefix = f"{layout.tag}-r"
    vhosts = sorted(v for v in rabbit.vhosts() if v.startswith(prefix))
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE %s", (layout.mysql_prefix.replace("_", r"\_") + "%",))
            databases = sorted(row[0] for row in cur.fetchall())
    finally:
        conn.close()
    assert (running, vhosts, databases) == ([], [], []), (
        f"left after `down --purge` of {layout.base}: processes {running}, vhosts {vhosts}, "
        f"databases {databases}")


KEYSTONES_REGIONS = 2


@pytest.fixture(scope="session")
def devcloud_keystones():
    """A devcloud with two Keystones and a key agent beside each (issue 18, item 3): API
    profile, MariaDB, ``--keystones 2 --keyagents``; RegionTwo's services validate tokens
    through the ``multisite_failover`` plugin.

    Own base (``MULTISITE_DEVCLOUD_KEYSTONES_BASE``, default ``<repo>/.devcloud-keystones``)
    and ports (``MULTISITE_DEVCLOUD_KEYSTONES_PORT_OFFSET``, default 200). Brought up under
    ``CI=true`` or with ``MULTISITE_DEVCLOUD_KEYSTONES=1``; otherwise its tests skip.
    """
    if not CI and not _flag("MULTISITE_DEVCLOUD_KEYSTONES"):
        pytest.skip("two-Keystone devcloud tests need MULTISITE_DEVCLOUD_KEYSTONES=1 "
                    "(or CI=true)")
    base = (os.environ.get("MULTISITE_DEVCLOUD_KEYSTONES_BASE")
            or str(L.repo_root() / ".devcloud-keystones"))
    offset = int(os.environ.get("MULTISITE_DEVCLOUD_KEYSTONES_PORT_OFFSET", "200"))
    layout = L.Layout(base, offset)
    main_venv = L.Layout(L.default_base()).venv
    if not layout.venv.exists() and inst.is_installed(main_venv):
        layout.base.mkdir(parents=True, exist_ok=True)
        layout.venv.symlink_to(main_venv)
    state = layout.read_state()
    started = False
    if (_running_regions(layout) < KEYSTONES_REGIONS or int(state.get("keystones", 1)) < 2
            or not state.get("keyagents")):
        _devcloud_cli(layout, "up", "--regions", str(KEYSTONES_REGIONS), "--db", "mysql",
                      "--keystones", "2", "--keyagents", "--port-offset", str(offset),
                      timeout=3600)
        started = True
        if _running_regions(layout) < KEYSTONES_REGIONS:
            raise RuntimeError(f"devcloud in {layout.base} is not answering after `up`")
    cloud = DevCloud.from_base(layout.base)
    cloud.token()
    yield cloud
    stop = (CI or _flag("MULTISITE_DEVCLOUD_STOP")) and not _flag("MULTISITE_DEVCLOUD_KEEP")
    if started and stop and "PYTEST_XDIST_WORKER" not in os.environ:
        _devcloud_cli(layout, "down", "--purge", timeout=300)


@pytest.fixture
def fresh_project(devcloud):
    """A new project and member user (TestProject), deleted after the test."""
    project = devcloud.create_project()
    yield project
    devcloud.delete_project(project)


@pytest.fixture
def usage(devcloud, fresh_project):
    """Creates real usage for ``fresh_project``: ``usage.volume("RegionTwo")`` etc."""
    tracker = Usage(devcloud, fresh_project)
    yield tracker
    tracker.cleanup()
