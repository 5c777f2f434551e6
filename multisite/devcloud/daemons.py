"""The full profile's non-HTTP processes: conductor, scheduler, compute, cinder, agents."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

from multisite.devcloud import configs
from multisite.devcloud import layout as L
from multisite.devcloud.services import DevcloudError, Service, tail

AGENT_SCRIPT = Path(__file__).with_name("agents") / "ovs_agent_standin.py"
COMPUTE_SCRIPT = Path(__file__).with_name("agents") / "nova_compute.py"

# kind -> (service whose directory and config it shares, command in the venv, extra config)
DAEMONS = {
    "nova-conductor": ("nova", "nova-conductor", []),
    "nova-scheduler": ("nova", "nova-scheduler", []),
    "nova-compute": ("nova", "nova-compute", ["compute.conf"]),
    "neutron-rpc": ("neutron", "neutron-rpc-server", ["ml2_conf.ini"]),
    "ovs-agent": ("neutron", None, ["ovs_agent.ini"]),
    "cinder-scheduler": ("cinder", "cinder-scheduler", []),
    "cinder-volume": ("cinder", "cinder-volume", []),
    "cinder-backup": ("cinder", "cinder-backup", []),
}
# a daemon that stays up this long after start counts as started; `up` then checks the
# region's own service lists (os-services, agents) for the real state
SETTLE_S = 3.0

SUDO_SHIM = """#!/bin/sh
# devcloud stand-in for sudo + cinder-rootwrap: the services already run as root, so
# "sudo cinder-rootwrap CONF cmd ..." and "sudo cmd ..." just run cmd.
if [ "$1" = "cinder-rootwrap" ]; then shift 2; fi
exec "$@"
"""


class Daemon(Service):
    """A non-HTTP service process; it shares the directory and config of its API service."""

    @property
    def parent_kind(self) -> str:
        return DAEMONS[self.kind][0]

    @property
    def dir(self) -> Path:
        return self.layout.service_dir(self.parent_kind, self.index)

    @property
    def port(self) -> int:
        return 0

    @property
    def url(self) -> str:
        return ""

    @property
    def databases(self) -> list[str]:
        return []

    @property
    def conf_files(self) -> list[Path]:
        main = Service(self.parent_kind, self.index, self.layout).conf_files[0]
        return [main, *(self.dir / extra for extra in DAEMONS[self.kind][2])]

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return None
        return pid if str(self.conf_files[0]).encode() in cmdline else None

    def write_config(self) -> None:
        # written by the API service of the same kind; nova-compute's own file again here, so
        # that a compute restarted alone by `up` runs this checkout's driver settings
        if self.kind == "nova-compute":
            configs.compute(self)

    def initialise(self) -> bool:
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        if self.kind == "cinder-volume":
            self._bind_export()
        return False

    def _bind_export(self) -> None:
        """cinder's NFS driver over a local directory: bind-mount it where the share would be.

        os-brick skips ``mount.nfs`` when the mount point is already in /proc/mounts.
        """
        export = Path(self.nfs_share.split(":", 1)[1])
        export.mkdir(parents=True, exist_ok=True)
        for point in nfs_mount_points(self):
            point.mkdir(parents=True, exist_ok=True)
            if str(point) not in mounted():
                subprocess.run(["mount", "--bind", str(export), str(point)], check=True,
                               capture_output=True)

    def command(self) -> list[str]:
        confs = [arg for f in self.conf_files for arg in ("--config-file", str(f))]
        if self.kind == "ovs-agent":
            return [self.layout.bin("python"), str(AGENT_SCRIPT), *confs]
        if self.kind == "nova-compute":
            # Nova's nova-compute, with the devcloud's compute driver importable by Nova
            return [self.layout.bin("python"), str(COMPUTE_SCRIPT), *confs]
        return [self.layout.bin(DAEMONS[self.kind][1]), *confs]

    def env(self) -> dict[str, str]:
        env = super().env()
        shim = self.layout.base / "bin"
        shim.mkdir(parents=True, exist_ok=True)
        sudo = shim / "sudo"
        if not sudo.exists() or sudo.read_text() != SUDO_SHIM:
            sudo.write_text(SUDO_SHIM)
            sudo.chmod(0o755)
        env["PATH"] = f"{shim}:{self.layout.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        return env

    def wait_ready(self, deadline: float) -> float:
        started = getattr(self, "_started", time.monotonic())
        proc = getattr(self, "_proc", None)
        while time.monotonic() - started < SETTLE_S:
            if proc is not None and proc.poll() is not None:
                raise DevcloudError(f"{self.name} ({self.region}) exited; see "
                                    f"{self.log_file}:\n{tail(self.log_file)}")
            time.sleep(0.3)
        took = time.monotonic() - started
        self.timings["ready"] = took
        return took

    def drop_data(self) -> None:
        if self.kind == "cinder-volume":
            unmount_exports(self)


def nfs_mount_points(svc: Service) -> list[Path]:
    """Where cinder-volume (nfs_mount_point_base) and os-brick's default look for the share."""
    digest = hashlib.md5(svc.nfs_share.encode()).hexdigest()  # noqa: S324 - os-brick's naming
    return [svc.nfs_mount_base / digest]


def mounted() -> set[str]:
    try:
        return {line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                if line.strip()}
    except OSError:
        return set()


def unmount_exports(svc: Service) -> None:
    for point in nfs_mount_points(svc):
        if str(point) in mounted():
            subprocess.run(["umount", str(point)], check=False, capture_output=True)


def region_daemons(layout: L.Layout, index: int, db: str, keystones: int = 1) -> list[Daemon]:
    return [Daemon(kind, index, layout, db, profile="full", keystones=keystones)
            for kind in DAEMONS]


def unmount_all(layout: L.Layout, regions: int) -> None:
    for i in range(1, regions + 1):
        unmount_exports(Daemon("cinder-volume", i, layout))
    os.sync()
